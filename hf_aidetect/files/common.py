"""Names, words and the write error shared by the modules of :mod:`hf_aidetect.files`."""

from __future__ import annotations

import errno
import secrets
from pathlib import Path

from hf_aidetect.errors import OutputError

PARTIAL_MARK = ".partial"  # in every temporary name: hidden (leading dot) and recognisable
_OS_ERROR_WORDS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EISDIR: "it is a folder",
    errno.ENOTDIR: "a parent in the path is a file, not a folder",
    errno.EEXIST: "it already exists",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EFBIG: "the file is too large for the file system",
    errno.EIO: "input/output error",
    errno.ENOENT: "no such file or folder",
}


def describe_os_error(error: OSError) -> str:
    """A few plain words for an ``OSError`` (``"no space left on the device"``), without the path."""
    words = _OS_ERROR_WORDS.get(error.errno or -1)
    return words or (error.strerror or str(error) or type(error).__name__).strip()


def is_partial(name: str) -> bool:
    """Whether ``name`` is one of our temporary (unfinished) files or folders."""
    return name.startswith(".") and PARTIAL_MARK in name


def temporary_name(target: Path, suffix: str = "") -> Path:
    """A hidden, unique name beside ``target`` that :func:`is_partial` recognises."""
    return target.with_name(f".{target.name}-{secrets.token_hex(4)}{PARTIAL_MARK}{suffix}")


def write_error(target: Path, error: OSError, what: str = "write") -> OutputError:
    """The one-line error for a failed write of ``target`` (nothing was changed there)."""
    return OutputError(
        f"cannot {what} {target}: {describe_os_error(error)}; nothing was changed at {target} "
        "(fix that, e.g. free some disk space, and re-run)"
    )
