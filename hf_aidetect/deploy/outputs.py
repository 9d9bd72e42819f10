"""Atomic outputs: a file or a folder appears whole or not at all (temp name + ``os.replace``).

Kept small and free of deploy specifics so it can move to a package-wide module later.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hf_aidetect.errors import ConfigError


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temp file in the same folder, then rename it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return path


def check_new_folder(target: str | Path, *, overwrite: bool, flag: str = "--out") -> Path:
    """Refuse an existing non-empty ``target`` unless ``overwrite``; refuse a file in its place."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{flag} {target} is a file; pass a folder path")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise ConfigError(f"{flag} {target} already exists and is not empty; add --overwrite to replace it")
    return target


@contextlib.contextmanager
def staged_folder(target: str | Path, *, overwrite: bool, flag: str = "--out") -> Iterator[Path]:
    """Yield an empty staging folder beside ``target``; on success it replaces ``target`` in one rename.

    On any error the staging folder is removed and ``target`` is left exactly as it was.
    """
    target = check_new_folder(target, overwrite=overwrite, flag=flag).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; the result is an ordinary folder
    try:
        yield staging
        if target.exists():
            retired = target.with_name(f".{target.name}.{os.getpid()}.old")
            os.replace(target, retired)
            os.replace(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
