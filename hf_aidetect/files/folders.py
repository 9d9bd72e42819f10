"""Folders that appear whole or not at all: built under a temporary name, renamed into place; deleted by
renaming aside first (so never half-deleted under their own name)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from hf_aidetect.errors import OutputError
from hf_aidetect.files.atomic import fsync_directory
from hf_aidetect.files.common import PARTIAL_MARK, temporary_name, write_error


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
        temporary = temporary_name(target)
        temporary.mkdir()
    except OSError as error:
        raise write_error(target, error, "create") from error
    try:
        yield temporary
        if target.exists() and not replace:
            raise OutputError(f"{target} appeared while it was being written; nothing was replaced")
        replace_directory(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
