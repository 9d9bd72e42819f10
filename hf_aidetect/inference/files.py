"""Turn command-line PATHs (files, folders, globs) into one ordered, de-duplicated list of files."""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from hf_aidetect.data.images import has_image_extension, is_hidden_or_system
from hf_aidetect.errors import AIDetectError

logger = logging.getLogger(__name__)

_GLOB_CHARS = set("*?[")


def _walk(folder: Path, all_files: bool) -> tuple[list[Path], int]:
    """Files under ``folder`` (recursive, sorted, hidden / system entries skipped) and the number left out."""
    found: list[Path] = []
    skipped = 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not is_hidden_or_system(d))
        for name in sorted(files):
            if is_hidden_or_system(name):
                continue
            if all_files or has_image_extension(name):
                found.append(Path(root) / name)
            else:
                skipped += 1
    return found, skipped


def _expand_one(pattern: str, all_files: bool) -> tuple[list[Path], int]:
    path = Path(pattern).expanduser()
    if path.is_dir():
        return _walk(path, all_files)
    if path.exists() or path.is_symlink() or not (_GLOB_CHARS & set(pattern)):
        # An explicit file always gets its row, even when missing or unreadable: the error says why.
        return [path], 0
    files: list[Path] = []
    skipped = 0
    for match in sorted(glob.glob(str(path), recursive=True)):
        matched = Path(match)
        if matched.is_dir():
            inner, inner_skipped = _walk(matched, all_files)
            files.extend(inner)
            skipped += inner_skipped
        else:
            files.append(matched)
    return files, skipped


def expand_paths(patterns: Iterable[str], *, all_files: bool = False) -> list[Path]:
    """Expand files, folders (recursive) and globs, keeping argument order and dropping repeats.

    Folders and globs that match folders contribute their image files by extension (``all_files`` adds
    every non-hidden file); hidden and OS litter files (``.DS_Store``, ``Thumbs.db``) are always skipped.
    A file named explicitly is always kept, even if it does not exist, so it
    gets an error row. Raises :class:`AIDetectError` naming the patterns when nothing matched at all.
    """
    patterns = list(patterns)
    ordered: dict[str, Path] = {}
    empty: list[str] = []
    skipped_total = 0
    for pattern in patterns:
        files, skipped = _expand_one(pattern, all_files)
        skipped_total += skipped
        if not files:
            empty.append(pattern)
        for file in files:
            ordered.setdefault(os.path.normpath(str(file)), file)
    if skipped_total:
        logger.info(
            "Left out %d file(s) without an image extension in the folders given (--all-files includes them)",
            skipped_total,
        )
    if ordered:
        for pattern in empty:
            logger.warning("No image files matched %r", pattern)
    else:
        raise AIDetectError(
            f"no image files matched {', '.join(repr(p) for p in patterns)}: "
            "pass image files, folders containing images, or quoted globs such as 'photos/**/*.jpg'"
        )
    return list(ordered.values())
