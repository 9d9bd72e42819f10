"""Atomic writes: a temporary file in the target's folder, synced, then ``os.replace``d over the target.

Bytes reach the disk through :func:`os.write` only (so tests can simulate a full disk by patching it).
A failure, interrupt or crash leaves the previous file byte-identical and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

from hf_aidetect.errors import OutputError
from hf_aidetect.files.common import PARTIAL_MARK, temporary_name, write_error


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
            raise write_error(self._target, error) from error


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
        raise write_error(target, error, "create") from error
    temporary = Path(name)
    try:
        yield descriptor, target
    except BaseException:  # the caller's failure (or an interrupt): discard, never publish half a file
        _discard(descriptor, temporary)
        raise
    try:
        _finish_file(descriptor, temporary, target)
    except OSError as error:
        raise write_error(target, error) from error


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
        raise write_error(target, error, "create") from error
    temporary = temporary_name(target, target.suffix)
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
            raise write_error(target, failure) from failure  # the block only writes this file
        raise
    fsync_directory(target.parent)
