"""Cheap views of a suite dataset (hard links, else symlinks): one family left out; flat for imagefolder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hf_aidetect.data.demo import KAGGLE_SUBDIR

FAKE = "fake"


def splits_root(dataset: Path) -> Path:
    """The folder holding train/ valid/ test/ (the inner Kaggle folder)."""
    inner = Path(dataset) / KAGGLE_SUBDIR
    return inner if inner.is_dir() else Path(dataset)


def families_in(dataset: Path) -> list[str]:
    """The fake families (``fake/<family>/`` folders) of the dataset's train split, sorted."""
    fake = splits_root(dataset) / "train" / FAKE
    return sorted(entry.name for entry in fake.iterdir() if entry.is_dir())


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another filesystem, or links not allowed: a symlink still costs nothing
        target.symlink_to(source.resolve())


def _fresh(folder: Path) -> Path:
    partial = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    return partial


def _publish(partial: Path, folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def leave_family_out(dataset: Path, family: str, out: Path) -> Path:
    """A Kaggle-layout view: train and valid without ``family``'s fakes, test = reals + ``family``'s fakes.

    The held-out family is unseen by training and by checkpoint selection; the test split then measures
    exactly the cross-generator question (reals vs fakes of a generator never seen).
    """
    known = families_in(dataset)
    if family not in known:
        raise ValueError(f"{dataset} has no fake/{family}/ folder; families: {', '.join(known)}")
    if len(known) < 2:
        raise ValueError(f"{dataset} has one family ({family}); leaving it out leaves no fakes to train on")
    partial = _fresh(out)
    source_root, target_root = splits_root(dataset), partial / KAGGLE_SUBDIR
    for split_dir in sorted(p for p in source_root.iterdir() if p.is_dir()):
        for path in sorted(split_dir.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(source_root)
            parts = relative.parts  # (split, class, [family,] file)
            if parts[1] == FAKE and (parts[2] == family) != (parts[0] == "test"):
                continue
            _link(path, target_root / relative)
    return _publish(partial, out)


def flat_view(dataset: Path, out: Path) -> Path:
    """``out/{train,valid,test}/{real,fake}/`` with every fake directly in ``fake/``.

    ``load_dataset("imagefolder")`` takes each file's parent folder as its label, so ``fake/<family>/``
    would become a class per family: the stock recipe reads this view instead (the same bytes).
    """
    partial = _fresh(out)
    source_root = splits_root(dataset)
    for path in sorted(source_root.rglob("*")):
        if not path.is_file():
            continue
        split, label, *rest = path.relative_to(source_root).parts
        _link(path, partial / split / label / "_".join(rest))
    return _publish(partial, out)
