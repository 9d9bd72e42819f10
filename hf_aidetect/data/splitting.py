"""Carve missing validation / test splits out of train, stratified by label, with a fixed seed."""

from __future__ import annotations

import logging
import math

import numpy as np
from datasets import Dataset
from sklearn.model_selection import train_test_split

from hf_aidetect.data.report import column_numpy
from hf_aidetect.errors import ConfigError, DatasetLayoutError

logger = logging.getLogger(__name__)


def _check_size(name: str, value: float | int) -> None:
    valid = (isinstance(value, int) and value >= 2) or (isinstance(value, float) and 0.0 < value < 1.0)
    if not valid or isinstance(value, bool):
        raise ConfigError(
            f"{name}={value!r} is invalid: use a fraction in (0, 1) or a count >= 2 (one image per class)."
        )


def _split_indices(labels: np.ndarray, size: float | int, seed: int, what: str, where: str) -> tuple:
    n = len(labels)
    n_carve = size if isinstance(size, int) else math.ceil(size * n)
    n_carve = max(n_carve, 2)  # stratification needs one image per class on both sides
    counts = np.bincount(labels, minlength=2)
    if n_carve > n - 2 or counts.min() < 2:
        raise DatasetLayoutError(
            f"Too few images in {where} ({counts[0]} real, {counts[1]} fake) to carve a stratified {what} "
            f"split of {n_carve}: add images, lower the split size, or provide a {what} folder."
        )
    try:
        return train_test_split(
            np.arange(n), test_size=n_carve, random_state=seed, shuffle=True, stratify=labels
        )
    except ValueError as error:
        raise DatasetLayoutError(
            f"Cannot carve a stratified {what} split out of {where}: {error}. Add images or provide a "
            f"{what} folder."
        ) from error


def _labels(dataset: Dataset) -> np.ndarray:
    return column_numpy(dataset, "label").astype(np.int64)


def carve_missing_splits(
    splits: dict[str, Dataset],
    *,
    validation_size: float | int,
    test_size: float | int,
    seed: int,
    where: str = "train",
) -> tuple[dict[str, Dataset], list[str]]:
    """Return ``{"train", "validation", "test"}`` plus the names of the splits that were carved.

    Sizes are fractions of (or counts from) the train split as found. When both are missing the test split
    is carved first and validation's fraction is rescaled, so both stay fractions of the original train.
    """
    missing = [s for s in ("validation", "test") if s not in splits]
    if not missing:
        return {s: splits[s] for s in ("train", "validation", "test")}, []
    sizes = {"validation": validation_size, "test": test_size}
    for name in missing:
        _check_size(f"{name}_size", sizes[name])
    pool = splits["train"]
    n_original = len(pool)
    out = dict(splits)
    for name in ("test", "validation"):
        if name not in missing:
            continue
        size = sizes[name]
        if isinstance(size, float) and len(pool) != n_original:
            size = min(size * n_original / len(pool), 0.9)
        keep, carved = _split_indices(_labels(pool), size, seed, name, where)
        out[name] = pool.select(np.sort(carved))
        pool = pool.select(np.sort(keep))
    out["train"] = pool
    logger.info("Carved %s out of %s (stratified by label, seed %d)", " and ".join(missing), where, seed)
    return {s: out[s] for s in ("train", "validation", "test")}, missing
