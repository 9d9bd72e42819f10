"""Matched assignment of crops to labels, so nothing but the generator fingerprint separates the classes.

The demo's ``matched_halves`` pairs neighbours for a 1:1 split; here a pool is shared by the reals and any
number of fake families in any integer proportions, and every block of neighbours also shares one JPEG
quality, so each label sees the same photo mix, brightness distribution and quality distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import reduce

import numpy as np

from hf_aidetect.data.demo.sources import CropSpec


@dataclass(frozen=True)
class Assignment:
    """``labels[i]`` is crop i's label (``"real"`` or a family); ``quality[i]`` its JPEG quality."""

    labels: np.ndarray
    quality: np.ndarray

    def indices(self, label: str) -> np.ndarray:
        return np.flatnonzero(self.labels == label)


def block_pattern(counts: dict[str, int]) -> list[str]:
    """The smallest multiset of labels in the proportions of ``counts`` (e.g. 400:80:80 -> 5:1:1)."""
    divisor = reduce(math.gcd, counts.values())
    return [label for label, count in counts.items() for _ in range(count // divisor)]


def assign_matched(
    specs: list[CropSpec],
    crops: np.ndarray,
    counts: dict[str, int],
    rng: np.random.Generator,
    quality_range: tuple[int, int],
) -> Assignment:
    """Give each of ``sum(counts)`` crops a label and a JPEG quality, matched across labels.

    Crops are sorted by (photo, mean brightness) and cut into consecutive blocks; each block holds the
    labels in the proportions of ``counts`` in a random order and one quality drawn uniformly from
    ``quality_range`` (inclusive). Neighbours are alike, so every label gets the same mix.
    """
    if len(crops) != sum(counts.values()):
        raise ValueError(f"{len(crops)} crops for {sum(counts.values())} labels")
    pattern = block_pattern(counts)
    brightness = crops.reshape(len(crops), -1).mean(axis=1)
    order = sorted(range(len(specs)), key=lambda i: (specs[i].photo, float(brightness[i])))
    labels = np.empty(len(crops), dtype=object)
    quality = np.empty(len(crops), dtype=np.int64)
    low, high = quality_range
    for start in range(0, len(order), len(pattern)):
        block = order[start : start + len(pattern)]
        labels[block] = rng.permutation(np.asarray(pattern, dtype=object))
        quality[block] = int(rng.integers(low, high + 1))
    return Assignment(labels.astype(str), quality)
