"""Datasets that already are ``datasets`` objects: Hub ids, ``save_to_disk`` folders, local loadable paths.

Each split is normalised to the same three columns as folder sources: ``image`` (``datasets.Image()``),
``label`` (``ClassLabel(["real", "fake"])``) and ``source`` (string). Labels may be ``ClassLabel`` (mapped by
name, so ``["fake", "real"]`` order is fixed), strings (through the label aliases) or the integers 0/1.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict, Features, Image, Value, load_dataset, load_from_disk

from hf_aidetect.data.labels import LABEL_NAMES, canonical_label, known_aliases
from hf_aidetect.data.layouts import split_name
from hf_aidetect.data.report import BadImage, arrow_column, column_numpy
from hf_aidetect.data.validation import check_images
from hf_aidetect.data.validation_cache import load_row_results, save_row_results
from hf_aidetect.errors import DatasetLayoutError, HubError

logger = logging.getLogger(__name__)

FEATURES = Features(
    {"image": Image(), "label": ClassLabel(names=list(LABEL_NAMES)), "source": Value("string")}
)
_VALIDATION_BATCH = 512


def is_saved_dataset(folder: Path) -> bool:
    """True for a folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``."""
    return (folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file()


def load_saved_or_local(folder: Path, hub_kwargs: dict[str, Any]) -> Dataset | DatasetDict:
    """``load_from_disk`` for saved datasets, ``load_dataset(path)`` for other local data folders."""
    if is_saved_dataset(folder):
        return load_from_disk(str(folder))
    try:
        return load_dataset(str(folder), **hub_kwargs)
    except Exception as error:
        raise DatasetLayoutError(
            f"{folder} is neither an image folder (split or class sub-folders), a save_to_disk folder, nor "
            f"loadable with datasets.load_dataset: {error}"
        ) from error


def load_hub(dataset_id: str, hub_kwargs: dict[str, Any]) -> Dataset | DatasetDict:
    """``load_dataset(dataset_id, **hub_kwargs)``; network / auth / not-found errors become HubError."""
    try:
        return load_dataset(dataset_id, **hub_kwargs)
    except Exception as error:
        offline = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("HF_DATASETS_OFFLINE")
        hint = " (HF_HUB_OFFLINE is set: the Hub cannot be reached)" if offline else ""
        raise HubError(
            f"Could not load dataset {dataset_id!r} from the Hub{hint}: {type(error).__name__}: {error}. "
            "Check the id (or give an existing local folder), your network, and `hf auth login` for "
            "private datasets."
        ) from error


def map_splits(data: Dataset | DatasetDict, origin: str, for_evaluation: bool = False) -> dict[str, Dataset]:
    """Name splits train / validation / test; a single ``Dataset`` is train (``test`` for evaluation, which
    also needs no train split)."""
    if isinstance(data, Dataset):
        return {"test" if for_evaluation else "train": data}
    if not isinstance(data, DatasetDict):
        raise DatasetLayoutError(
            f"{origin} loaded as {type(data).__name__}: load_detection_dataset validates and splits the data "
            "up front, so drop streaming=True; to train from a stream use `--streaming true` "
            "(hf_aidetect.data.streaming)."
        )
    out: dict[str, Dataset] = {}
    unknown = []
    for name, dataset in data.items():
        split = split_name(str(name))
        if split is None:
            unknown.append(str(name))
        elif split in out:
            raise DatasetLayoutError(
                f"{origin} has two {split!r} splits; keep one (pass split=... to choose)."
            )
        else:
            out[split] = dataset
    if unknown:
        raise DatasetLayoutError(
            f"{origin} has unknown split(s) {unknown}: expected train, validation (valid/val/dev) and test. "
            "Pass split='<name>' to load one split as train (validation/test are then carved out of it)."
        )
    if "train" not in out and not for_evaluation:
        raise DatasetLayoutError(f"{origin} has no train split (found {sorted(data)}); pass split='<name>'.")
    return out


def _label_ids(dataset: Dataset, column: str, origin: str) -> np.ndarray:
    feature = dataset.features[column]
    values = column_numpy(dataset, column)
    if isinstance(feature, ClassLabel):
        lookup = {i: canonical_label(name) for i, name in enumerate(feature.names)}
        unknown = sorted(feature.names[i] for i, v in lookup.items() if v is None)
    else:
        uniques = {v.item() if hasattr(v, "item") else v for v in np.unique(values.astype(object))}
        lookup = {v: canonical_label(v) for v in uniques}
        unknown = sorted(str(v) for v, mapped in lookup.items() if mapped is None)
    if unknown:
        raise DatasetLayoutError(
            f"Column {column!r} of {origin} has unknown label value(s) {unknown}; accepted are 0/1 or "
            f"{known_aliases()}. Pass label_column=... if the label is in another column."
        )
    keys = values.tolist()
    return np.fromiter((lookup[k] for k in keys), dtype=np.int64, count=len(keys))


def normalise_split(
    dataset: Dataset, *, image_column: str, label_column: str, source_column: str | None, origin: str
) -> Dataset:
    """Return ``dataset`` reduced to ``image`` / ``label`` / ``source`` with the fixed label mapping."""
    for flag, column in (("image_column", image_column), ("label_column", label_column)):
        if column not in dataset.column_names:
            raise DatasetLayoutError(
                f"{origin} has no column {column!r} (columns: {dataset.column_names}); pass {flag}=..."
            )
    if source_column is not None and source_column not in dataset.column_names:
        raise DatasetLayoutError(f"{origin} has no column {source_column!r}; fix source_column=...")
    labels = _label_ids(dataset, label_column, origin)
    if source_column is not None:
        sources = [str(s) for s in arrow_column(dataset, source_column).to_pylist()]
    else:
        sources = [""] * len(dataset)
    images = dataset.select_columns([image_column])
    if image_column != "image":
        images = images.rename_column(image_column, "image")
    images = images.cast_column("image", Image())
    images = images.add_column("label", labels.tolist(), feature=FEATURES["label"])
    return images.add_column("source", sources, feature=FEATURES["source"])


def validate_split(
    dataset: Dataset, split: str, num_workers: int | None, cache_key: str | None = None
) -> tuple[Dataset, list[BadImage]]:
    """Decode-check every row (bytes or path) in batches; return the good rows and the bad ones.

    ``cache_key`` (the source's fingerprint, for datasets backed by files) lets a later load reuse the result.
    """
    found = load_row_results(cache_key, len(dataset)) if cache_key else None
    if found is None:
        found = _check_rows(dataset, split, num_workers)
        if cache_key:
            save_row_results(cache_key, len(dataset), found)
    bad = [BadImage(where, reason) for _, where, reason in found]
    if not found:
        return dataset, bad
    keep = np.setdiff1d(np.arange(len(dataset)), np.asarray([row for row, _, _ in found]))
    return dataset.select(keep), bad


def _check_rows(dataset: Dataset, split: str, num_workers: int | None) -> list[tuple[int, str, str]]:
    raw = dataset.cast_column("image", Image(decode=False)).with_format(None, columns=["image"])
    found: list[tuple[int, str, str]] = []
    for start in range(0, len(raw), _VALIDATION_BATCH):
        batch = raw[start : start + _VALIDATION_BATCH]["image"]
        for offset, (item, reason) in enumerate(zip(batch, check_images(batch, num_workers))):
            if reason is not None:
                where = f"{split}[{start + offset}]" + (f" ({item['path']})" if item.get("path") else "")
                found.append((start + offset, where, reason))
    return found


def dataset_cache_key(dataset: Dataset, image_column: str) -> str | None:
    """A key for the validation cache: the fingerprint of a file-backed dataset (``None`` in memory)."""
    fingerprint = getattr(dataset, "_fingerprint", None)
    if not dataset.cache_files or not fingerprint:
        return None
    return f"{fingerprint}:{image_column}"


def check_both_classes(dataset: Dataset, where: str, one_class_ok: bool = False) -> None:
    """Raise when a split is empty or lacks one class (only warn for the latter with ``one_class_ok``)."""
    labels = column_numpy(dataset, "label")
    counts = np.bincount(labels.astype(np.int64), minlength=2)
    if counts.sum() == 0:
        raise DatasetLayoutError(f"{where} is empty (no usable images); add images or remove it.")
    for label_id, name in enumerate(LABEL_NAMES):
        if counts[label_id] == 0 and one_class_ok:
            logger.warning(
                "%s has no %r images: only metrics of the other class can be computed", where, name
            )
        elif counts[label_id] == 0:
            raise DatasetLayoutError(
                f"{where} has no {name!r} images; a detector needs real and fake examples in every split."
            )
