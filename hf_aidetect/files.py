"""Safe file writing: every output appears complete or not at all, and its location is checked up front.

The bottom layer of the package (it imports only :mod:`hf_aidetect.errors`). Everything hf_aidetect writes
goes through here:

* :func:`atomic_write_bytes` / :func:`atomic_write_text` / :func:`atomic_write_json` and the
  :func:`atomic_open` stream write a hidden temporary file in the target's folder, ``fsync`` it, then
  ``os.replace`` it over the target: a reader, a crash or ``kill -9`` sees the old file or the new one,
  never half of each. A failure (disk full, interrupt) removes the temporary file; the target is untouched.
* :func:`atomic_path` hands a temporary *name* to writers that want one (matplotlib, ``torch.save``).
* :func:`atomic_directory` builds a whole folder under a temporary name and renames it into place.
* :func:`check_output_path` refuses, before any heavy work, an output that would destroy an input, land in
  a protected folder, silently replace an existing file, or cannot be written; the
  :class:`~hf_aidetect.errors.OutputError` names the path, why, and what to do, in one line.

Bytes go to disk through :func:`os.write` only, so tests can simulate a full disk by patching it.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal

from hf_aidetect.errors import OutputError

__all__ = [
    "PARTIAL_MARK",
    "atomic_directory",
    "atomic_open",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_output_path",
    "check_writable_folder",
    "describe_os_error",
    "fsync_directory",
    "is_partial",
    "remove_directory",
    "replace_directory",
]

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


def _temporary_name(target: Path, suffix: str = "") -> Path:
    return target.with_name(f".{target.name}-{secrets.token_hex(4)}{PARTIAL_MARK}{suffix}")


def _final_target(path: str | os.PathLike) -> Path:
    """The file actually written: a symlink's target (so the link stays a link), else the path."""
    path = Path(path).expanduser()
    return Path(os.path.realpath(path)) if path.is_symlink() else Path(os.path.abspath(path))


def _new_file_mode(target: Path) -> int:
    """The target's permission bits when it exists, else what ``open()`` would give (0o666 minus umask)."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def fsync_directory(folder: str | os.PathLike) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _write_error(target: Path, error: OSError, what: str = "write") -> OutputError:
    return OutputError(
        f"cannot {what} {target}: {describe_os_error(error)}; nothing was changed at {target} "
        "(fix that, e.g. free some disk space, and re-run)"
    )


class _DescriptorWriter(io.RawIOBase):
    """Raw stream over a file descriptor it does not own; every write is one :func:`os.write` call.

    :meth:`disarm` (called before the descriptor is closed) makes later writes no-ops, so a buffered
    stream flushed late (by garbage collection) can never write into a reused descriptor number.
    """

    def __init__(self, descriptor: int, target: Path) -> None:
        super().__init__()
        self._descriptor: int | None = descriptor
        self._target = target

    def writable(self) -> bool:
        return True

    def disarm(self) -> None:
        self._descriptor = None

    def write(self, data: Any) -> int:  # type: ignore[override]
        if self._descriptor is None:
            return len(memoryview(data))  # discarded: the file is finished or abandoned
        try:
            return os.write(self._descriptor, data)
        except OSError as error:
            raise _write_error(self._target, error) from error


def _discard(descriptor: int | None, temporary: Path) -> None:
    if descriptor is not None:
        with contextlib.suppress(OSError):
            os.close(descriptor)
    with contextlib.suppress(OSError):
        temporary.unlink()


def _finish_file(descriptor: int, temporary: Path, target: Path) -> None:
    """fsync + permission bits + close, then rename over the target and make the rename durable."""
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(descriptor, _new_file_mode(target))
        os.fsync(descriptor)
    except OSError:
        _discard(descriptor, temporary)
        raise
    os.close(descriptor)
    try:
        os.replace(temporary, target)
    except OSError:
        _discard(None, temporary)
        raise
    fsync_directory(target.parent)


@contextlib.contextmanager
def _atomic_descriptor(path: str | os.PathLike) -> Iterator[tuple[int, Path]]:
    """(fd of a temporary file, final path); on success it replaces the target, on any failure it goes."""
    target = _final_target(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-", suffix=PARTIAL_MARK)
    except OSError as error:
        raise _write_error(target, error, "create") from error
    temporary = Path(name)
    try:
        yield descriptor, target
    except BaseException:  # the caller's failure (or an interrupt): discard, never publish half a file
        _discard(descriptor, temporary)
        raise
    try:
        _finish_file(descriptor, temporary, target)
    except OSError as error:
        raise _write_error(target, error) from error


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file + fsync + ``os.replace``); return the path."""
    with _atomic_descriptor(path) as (descriptor, target):
        view = memoryview(data)
        writer = _DescriptorWriter(descriptor, target)
        while view:
            view = view[writer.write(view) :]
    return target


def atomic_write_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` atomically; newlines are written as given (no platform translation)."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(
    path: str | os.PathLike,
    data: Any,
    *,
    indent: int | None = 2,
    sort_keys: bool = True,
    default: Any = None,
    ensure_ascii: bool = True,
) -> Path:
    """``json.dumps(data)`` plus a final newline, written atomically (the data is serialised first)."""
    text = json.dumps(data, indent=indent, sort_keys=sort_keys, default=default, ensure_ascii=ensure_ascii)
    return atomic_write_text(path, text + "\n")


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike,
    mode: Literal["w", "wb"] = "w",
    *,
    encoding: str = "utf-8",
    newline: str | None = None,
) -> Iterator[IO[Any]]:
    """A stream to a temporary file that replaces ``path`` when the ``with`` block ends without error.

    Any exception (``KeyboardInterrupt`` included) discards what was written and leaves ``path`` as it
    was. A write failure (e.g. a full disk) raises :class:`OutputError` naming ``path``.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes only ('w' or 'wb'), got mode {mode!r}")
    with _atomic_descriptor(path) as (descriptor, target):
        raw = _DescriptorWriter(descriptor, target)
        buffered = io.BufferedWriter(raw)
        stream: IO[Any] = (
            buffered if mode == "wb" else io.TextIOWrapper(buffered, encoding=encoding, newline=newline)
        )
        try:
            yield stream
            stream.flush()
        finally:
            raw.disarm()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary file name (same folder, same suffix) that replaces ``path`` if the block succeeds.

    For writers that take a file name (``figure.savefig``, ``torch.save``); the suffix is kept so format
    detection by extension still works.
    """
    target = _final_target(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _write_error(target, error, "create") from error
    temporary = _temporary_name(target, target.suffix)
    try:
        yield temporary
        with open(temporary, "rb+") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), _new_file_mode(target))
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException as failure:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(failure, OSError) and not isinstance(failure, OutputError):
            raise _write_error(target, failure) from failure  # the block only writes this file
        raise
    fsync_directory(target.parent)


def remove_directory(path: str | os.PathLike) -> None:
    """Delete a folder so that it never exists half-deleted under its own name (rename aside, then delete)."""
    path = Path(path)
    if not path.exists():
        return
    aside = path.with_name(f".{path.name}-{secrets.token_hex(4)}{PARTIAL_MARK}-deleting")
    os.rename(path, aside)
    fsync_directory(path.parent)
    shutil.rmtree(aside, ignore_errors=True)


def replace_directory(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Move the finished folder ``source`` to ``target``, replacing an existing ``target``.

    The old ``target`` is renamed aside first and deleted only once the new one is in place, so a crash in
    between leaves it recoverable as ``.NAME-*.partial-old`` beside the target.
    """
    source, target = Path(source), Path(target)
    aside = None
    if target.exists():
        aside = target.with_name(f".{target.name}-{secrets.token_hex(4)}{PARTIAL_MARK}-old")
        os.rename(target, aside)
    try:
        os.rename(source, target)
    except OSError:
        if aside is not None:
            os.rename(aside, target)  # put the old one back: the caller still holds the new one
        raise
    fsync_directory(target.parent)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, *, replace: bool = False) -> Iterator[Path]:
    """A temporary sibling folder that becomes ``path`` when the block succeeds (removed on failure).

    ``replace``: an existing ``path`` is replaced (see :func:`replace_directory`); otherwise an existing
    ``path`` raises :class:`OutputError` and the new folder is discarded.
    """
    target = Path(os.path.abspath(Path(path).expanduser()))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = _temporary_name(target)
        temporary.mkdir()
    except OSError as error:
        raise _write_error(target, error, "create") from error
    try:
        yield temporary
        if target.exists() and not replace:
            raise OutputError(f"{target} appeared while it was being written; nothing was replaced")
        replace_directory(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


# -- checking an output location before the work ------------------------------------------------------


def _resolved(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(Path(path).expanduser()))


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return Path(path.anchor or "/")


def _probe(folder: Path) -> OSError | None:
    """Try to create (and remove) a file in ``folder``: the only check that is right for root, ACLs,
    read-only mounts and quotas alike."""
    try:
        descriptor, name = tempfile.mkstemp(dir=folder, prefix=".hf_aidetect-probe-", suffix=PARTIAL_MARK)
    except OSError as error:
        return error
    os.close(descriptor)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return None


def check_writable_folder(folder: str | os.PathLike, *, flag: str, shown: str | os.PathLike) -> None:
    """Raise :class:`OutputError` unless ``folder`` exists as a writable folder or can be created."""
    folder = Path(os.path.abspath(Path(folder).expanduser()))
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise OutputError(
            f"{flag} {shown}: cannot create it, {existing} is a file, not a folder; choose another path"
        )
    problem = _probe(existing)
    if problem is not None:
        raise OutputError(
            f"{flag} {shown}: cannot write in {existing} ({describe_os_error(problem)}); choose a folder "
            "you can write to"
        )


def check_output_path(
    path: str | os.PathLike,
    *,
    flag: str,
    kind: Literal["file", "folder"] = "file",
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike] = (),
    protected: Iterable[str | os.PathLike] = (),
    overwrite_flag: str = "--overwrite",
) -> Path:
    """Check, before any heavy work, that ``path`` can be written as ``kind``; return it resolved.

    Refused, each with one line naming ``flag``, the path, why, and what to do:

    * the path is one of ``inputs``, or (a folder output) holds one of them: writing would destroy it;
    * the path lies in (or holds) one of the ``protected`` folders (e.g. the model being used);
    * a file where a folder is wanted, or the reverse;
    * an existing file, or a non-empty folder, unless ``overwrite``;
    * a location that cannot be created or written (permissions, read-only file system, a file in the way).
    """
    shown = Path(path)
    target = _resolved(path)
    for item in inputs:
        source = _resolved(item)
        same = target == source or (target.exists() and source.exists() and os.path.samefile(target, source))
        if same or (kind == "folder" and _is_within(source, target)):
            what = "is" if same else "holds"
            raise OutputError(
                f"{flag} {shown} {what} one of the inputs ({item}); writing it would destroy that input: "
                "choose another output path"
            )
    for folder in protected:
        folder = _resolved(folder)
        if _is_within(target, folder) or _is_within(folder, target):
            raise OutputError(
                f"{flag} {shown} is inside the model folder {folder}; writing there can break the model: "
                "choose a path outside it"
            )
    if target.exists():
        if kind == "file" and target.is_dir():
            raise OutputError(f"{flag} {shown} is a folder; pass a file path")
        if kind == "folder" and not target.is_dir():
            raise OutputError(f"{flag} {shown} is a file; pass a folder path")
        exists = kind == "file" or any(target.iterdir())
        if exists and not overwrite:
            what = "already exists" if kind == "file" else "already exists and is not empty"
            raise OutputError(
                f"{flag} {shown} {what}; pass {overwrite_flag} to replace it, or choose another path"
            )
        if kind == "file" and not os.access(target, os.W_OK):
            raise OutputError(f"{flag} {shown} is read-only; make it writable or choose another path")
    check_writable_folder(target if kind == "folder" and target.is_dir() else target.parent, flag=flag,
                          shown=shown)  # fmt: skip
    return target
