"""Folder layouts: find splits, class folders and image files, deterministically and case-insensitively.

Supported (``root`` may also be a wrapper folder holding exactly one sub-folder, e.g. the Kaggle
``real_vs_fake/`` around ``real-vs-fake/``; loose files such as ``train.csv`` beside it are ignored):

* split layout: ``root/{train,valid|val|validation,test}/<class>/...``
* class layout: ``root/<class>/...`` (no splits; they are carved out later)

For evaluation (``scan_folder(..., for_evaluation=True)``) a split layout needs no ``train/`` (e.g. only
``test/``), a class layout is one ``test`` split, and a split may hold one class only (a folder of fakes
from one generator measures recall).

Class folders map through :func:`hf_aidetect.data.labels.canonical_label` (``REAL``, ``0_real``, ``ai`` ...).
Images may sit in nested folders below a class folder; the first sub-folder name is the image's
``source`` (e.g. ``fake/stylegan2/x.png`` -> ``"stylegan2"``). Hidden and system files are skipped.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from hf_aidetect.data.images import has_image_extension, is_hidden_or_system
from hf_aidetect.data.labels import ID2LABEL, canonical_label, known_aliases
from hf_aidetect.errors import DatasetLayoutError

logger = logging.getLogger(__name__)

SPLIT_ALIASES: dict[str, str] = {
    "train": "train",
    "training": "train",
    "valid": "validation",
    "val": "validation",
    "validation": "validation",
    "dev": "validation",
    "test": "test",
    "testing": "test",
}
_MAX_WRAPPER_DEPTH = 3


@dataclass
class SplitFiles:
    """The image files of one split: parallel lists of paths, label ids and source names."""

    folder: str
    paths: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


@dataclass
class FolderScan:
    """Result of scanning a folder: ``layout`` is ``"splits"`` or ``"classes"``; ``splits`` keyed by split."""

    root: str
    layout: str
    splits: dict[str, SplitFiles]
    ignored_files: list[str] = field(default_factory=list)


def split_name(name: str) -> str | None:
    """Canonical split (``train`` / ``validation`` / ``test``) for a folder name, or ``None``."""
    return SPLIT_ALIASES.get(name.strip().lower())


def _subdirs(folder: Path) -> list[os.DirEntry]:
    with os.scandir(folder) as entries:
        dirs = [e for e in entries if e.is_dir() and not is_hidden_or_system(e.name)]
    return sorted(dirs, key=lambda e: e.name)


def find_dataset_root(folder: Path) -> Path:
    """Descend through wrapper folders holding exactly one non-split, non-class sub-folder."""
    current = folder
    for _ in range(_MAX_WRAPPER_DEPTH):
        dirs = _subdirs(current)
        if len(dirs) != 1:
            break
        only = dirs[0].name
        if split_name(only) is not None or canonical_label(only) is not None:
            break
        current = Path(dirs[0].path)
    return current


def looks_like_image_folder(folder: Path) -> bool:
    """True when ``folder`` (after wrappers) has split or class sub-folders."""
    root = find_dataset_root(folder)
    return any(split_name(d.name) or canonical_label(d.name) is not None for d in _subdirs(root))


def scan_folder(folder: str | os.PathLike, *, for_evaluation: bool = False) -> FolderScan:
    """Scan a split or class layout under ``folder``; raise :class:`DatasetLayoutError` when ambiguous.

    ``for_evaluation``: no ``train/`` needed, a class layout becomes the ``test`` split, one class is enough.
    """
    root = find_dataset_root(Path(folder))
    dirs = _subdirs(root)
    if not dirs:
        raise DatasetLayoutError(
            f"{root} has no sub-folders. Expected class folders (real/, fake/) or split folders "
            "(train/, valid/, test/) holding class folders."
        )
    splits_found = {d.name: split_name(d.name) for d in dirs}
    if any(splits_found.values()):
        return _scan_split_layout(root, dirs, splits_found, for_evaluation)
    ignored: list[str] = []
    files = _scan_class_folders(root, dirs, ignored, both_classes=not for_evaluation)
    return FolderScan(str(root), "classes", {"test" if for_evaluation else "train": files}, ignored)


def _scan_split_layout(
    root: Path, dirs: list[os.DirEntry], splits_found: dict[str, str | None], for_evaluation: bool = False
) -> FolderScan:
    unknown = [name for name, split in splits_found.items() if split is None]
    if unknown:
        raise DatasetLayoutError(
            f"Unknown split folder(s) {', '.join(repr(u) for u in unknown)} in {root}. Split folders must be "
            "train/, valid/ (or val/, validation/, dev/) and test/; rename, move or delete "
            f"{', '.join(str(root / u) for u in unknown)}."
        )
    by_split: dict[str, str] = {}
    for name, split in splits_found.items():
        assert split is not None
        if split in by_split:
            raise DatasetLayoutError(
                f"Both {root / by_split[split]} and {root / name} are {split!r} splits; keep only one."
            )
        by_split[split] = name
    if "train" not in by_split and not for_evaluation:
        raise DatasetLayoutError(
            f"{root} has split folders {sorted(by_split.values())} but no train/ folder; add train/ "
            "(other splits are carved out of it when missing)."
        )
    ignored: list[str] = []
    splits: dict[str, SplitFiles] = {}
    for split in ("train", "validation", "test"):
        if split in by_split:
            split_dir = root / by_split[split]
            splits[split] = _scan_class_folders(
                split_dir, _subdirs(split_dir), ignored, both_classes=not for_evaluation
            )
    return FolderScan(str(root), "splits", splits, ignored)


def _scan_class_folders(
    folder: Path, dirs: list[os.DirEntry], ignored: list[str], both_classes: bool = True
) -> SplitFiles:
    unknown = [d.name for d in dirs if canonical_label(d.name) is None]
    if unknown:
        raise DatasetLayoutError(
            f"Unknown class folder(s) {', '.join(repr(u) for u in unknown)} in {folder}. Class folders must "
            f"name the class; accepted names are {known_aliases()}. Rename or remove them."
        )
    if not dirs:
        raise DatasetLayoutError(
            f"{folder} has no class folders; put images under {folder}/real/ and {folder}/fake/."
        )
    _warn_loose_images(folder)
    files = SplitFiles(folder=str(folder))
    for entry in dirs:
        label = canonical_label(entry.name)
        assert label is not None
        for path, source in _walk_images(Path(entry.path), ignored):
            files.paths.append(path)
            files.labels.append(label)
            files.sources.append(source)
    if not files.paths:
        raise DatasetLayoutError(
            f"Split folder {folder} contains no images (extensions: .jpg .jpeg .png .webp .bmp .gif .tif "
            ".tiff); add images or remove the folder."
        )
    present = set(files.labels)
    missing = [ID2LABEL[i] for i in ID2LABEL if i not in present]
    if missing and both_classes:  # for evaluation one class is enough (the loader warns)
        raise DatasetLayoutError(
            f"{folder} has no {missing[0]!r} images: a detector needs both real and fake examples in every "
            f"split. Add a {missing[0]}/ class folder with images (accepted names: {known_aliases()})."
        )
    return files


def _warn_loose_images(folder: Path) -> None:
    """Images lying next to the class folders carry no label: say so instead of dropping them silently."""
    with os.scandir(folder) as entries:
        loose = sorted(e.name for e in entries if e.is_file() and has_image_extension(e.name))
    if loose:
        logger.warning(
            "Ignoring %d image(s) directly in %s (e.g. %s): they are in no class folder; move them into "
            "real/ or fake/ to use them.",
            len(loose),
            folder,
            loose[0],
        )


def _walk_images(class_dir: Path, ignored: list[str]) -> list[tuple[str, str]]:
    """All image files under ``class_dir`` (sorted, recursive) with their source (first sub-folder)."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[str, str]] = [(str(class_dir), "")]
    while stack:
        folder, source = stack.pop()
        with os.scandir(folder) as entries:
            listing = sorted(entries, key=lambda e: e.name)
        subfolders = []
        for entry in listing:
            if is_hidden_or_system(entry.name):
                continue
            if entry.is_dir():
                subfolders.append((entry.path, source or entry.name))
            elif has_image_extension(entry.name):
                found.append((entry.path, source))
            else:
                ignored.append(entry.path)
        stack.extend(reversed(subfolders))
    found.sort()
    return found
