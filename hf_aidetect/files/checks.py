"""Checking an output location before the work: refuse, in one line naming the path, an output that would
destroy an input, land in a protected folder, silently replace an existing file, or cannot be written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from hf_aidetect.errors import OutputError
from hf_aidetect.files.common import PARTIAL_MARK, describe_os_error


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
