"""Leaks between splits: exact duplicates (same bytes, SHA-256) and near-duplicates (perceptual hash).

An image in both train and test makes the test score a memory test. Exact copies are found by hashing the
bytes; re-encoded, resized or lightly edited copies by a 64-bit DCT perceptual hash (``imagehash.phash``)
within :data:`NEAR_DISTANCE` differing bits. Pairs are compared across splits only (every train image with
every test image, by XOR and popcount in numpy), and exact pairs are not repeated as near ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import combinations

import numpy as np

NEAR_DISTANCE = 4  # of 64 bits; copies re-encoded or resized stay within it, distinct faces do not
_CHUNK = 2048


@dataclass
class DuplicatePair:
    """Two rows in different splits that are the same image (``distance`` 0 and ``exact`` for same bytes)."""

    split_a: str
    where_a: str
    label_a: int
    split_b: str
    where_b: str
    label_b: int
    distance: int
    exact: bool

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Row:
    """What duplicate search needs of an image row."""

    split: str
    where: str
    label: int


def exact_duplicates(rows: Sequence[Row], hashes: Sequence[str]) -> list[DuplicatePair]:
    """One pair per two splits that share an image with the same SHA-256 (its first row in each split)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for index, digest in enumerate(hashes):
        if digest:
            groups[digest].append(index)
    pairs = []
    for members in groups.values():
        first_in_split: dict[str, int] = {}
        for index in members:
            first_in_split.setdefault(rows[index].split, index)
        for a, b in combinations(first_in_split.values(), 2):
            pairs.append(_pair(rows[a], rows[b], 0, True))
    return pairs


def _pair(a: Row, b: Row, distance: int, exact: bool) -> DuplicatePair:
    return DuplicatePair(a.split, a.where, a.label, b.split, b.where, b.label, distance, exact)


def near_duplicates(
    rows: Sequence[Row],
    hashes: Sequence[int | None],
    exact_hashes: Sequence[str] = (),
    max_distance: int = NEAR_DISTANCE,
) -> list[DuplicatePair]:
    """Pairs of rows in different splits whose perceptual hashes differ in at most ``max_distance`` bits."""
    by_split: dict[str, list[int]] = defaultdict(list)
    for index, value in enumerate(hashes):
        if value is not None:
            by_split[rows[index].split].append(index)
    splits = list(by_split)
    pairs = []
    for position, split_a in enumerate(splits):
        for split_b in splits[position + 1 :]:
            a_index, b_index = np.array(by_split[split_a]), np.array(by_split[split_b])
            a_values = np.array([hashes[i] for i in a_index], dtype=np.uint64)
            b_values = np.array([hashes[i] for i in b_index], dtype=np.uint64)
            for start in range(0, a_values.size, _CHUNK):
                block = a_values[start : start + _CHUNK, None] ^ b_values[None, :]
                distance = np.bitwise_count(block)
                for i, j in zip(*np.nonzero(distance <= max_distance)):
                    first, second = int(a_index[start + i]), int(b_index[j])
                    same_bytes = bool(exact_hashes) and exact_hashes[first] == exact_hashes[second] != ""
                    if not same_bytes:
                        pairs.append(_pair(rows[first], rows[second], int(distance[i, j]), False))
    return sorted(pairs, key=lambda pair: pair.distance)
