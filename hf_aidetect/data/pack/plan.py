"""What a pack writes, decided before anything is written: rows per shard, ids, and a fingerprint.

Each split's rows are put in a seeded random order (so every shard mixes classes and generators, and a
stream's first rows are representative), then cut into shards of about ``shard_size`` bytes of image data.
Row ids run over the splits in that order (train, validation, test). The fingerprint hashes the options and
every planned row (path, size, modification time, label, source): a stopped pack resumes only onto the same
plan, and shards already written are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow.compute as pc
from datasets import Dataset, DatasetDict

from hf_aidetect.data.pack.options import PackOptions
from hf_aidetect.data.report import arrow_column, column_numpy
from hf_aidetect.errors import ConfigError

SPLIT_ORDER = ("train", "validation", "test")
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS.update({"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40})
# Rows per Parquet row group: a row group is what a stream reads at once (and a shard's smallest piece
# when `datasets` reshards for more loader workers), so keep it to a few tens of MB.
ROW_GROUP_BYTES = 32 * 10**6
SMALL_SHARD_SIZE = 10**7  # below this, per-file overheads dominate a stream


def parse_size(text: str | int) -> int:
    """``"500MB"`` -> 500_000_000 (KB/MB/GB/TB decimal, KiB/MiB/GiB/TiB binary, plain bytes)."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    unit = match.group(2).upper() if match else None
    if match is None or unit not in _UNITS:
        raise ConfigError(f"--shard-size {text!r}: give a size like 500MB, 2GB or 256MiB.")
    size = int(float(match.group(1)) * _UNITS[unit])
    if size < 1:
        raise ConfigError(f"--shard-size {text!r}: give a positive size like 500MB.")
    return size


@dataclass
class ShardPlan:
    """One shard: its split, index, file name and rows (positions in the split's undecoded rows)."""

    split: str
    index: int
    count: int
    rows: list[int]
    first_id: int
    num_bytes: int

    @property
    def file(self) -> str:
        return f"data/{self.split}-{self.index:05d}-of-{self.count:05d}.parquet"


@dataclass
class PackPlan:
    """Every shard of the pack, the counts per split, and the fingerprint that identifies the plan."""

    shards: list[ShardPlan]
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)
    fingerprint: str = ""


def _image_facts(data: Dataset) -> tuple[np.ndarray, list[str]]:
    """Bytes per image and a signature per row (file: path, size, mtime; embedded: row and length).

    Read from Arrow without loading embedded image bytes (a Hub or ``save_to_disk`` source may hold many GB).
    """
    column = arrow_column(data, "image").combine_chunks()
    paths = column.field("path").to_pylist()
    embedded = pc.fill_null(pc.binary_length(column.field("bytes")), -1).to_numpy(zero_copy_only=False)
    sizes = np.empty(len(paths), dtype=np.int64)
    signatures = []
    for i, (path, length) in enumerate(zip(paths, embedded.tolist())):
        if length >= 0:
            sizes[i] = length
            signatures.append(f"{data._fingerprint}[{i}]:{length}")
        else:
            stat = os.stat(path)
            sizes[i] = stat.st_size
            signatures.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    return sizes, signatures


def plan_pack(rows: DatasetDict, options: PackOptions) -> PackPlan:
    """Shuffle each split (seeded), cut it into shards of ``options.shard_size`` bytes, number the rows."""
    digest = hashlib.sha256(json.dumps({**asdict(options), "num_workers": None}, sort_keys=True).encode())
    shards: list[ShardPlan] = []
    splits: dict[str, dict[str, Any]] = {}
    next_id = 0
    for split_index, split in enumerate(name for name in SPLIT_ORDER if name in rows):
        data: Dataset = rows[split]
        sizes, signatures = _image_facts(data)
        labels = column_numpy(data, "label").astype(np.int64)
        sources = [str(s) for s in arrow_column(data, "source").to_pylist()]
        order = np.random.default_rng([options.seed, split_index]).permutation(len(data))
        for position in order:
            digest.update(f"{split}|{signatures[position]}|{labels[position]}|{sources[position]}\n".encode())
        cuts = _cuts(sizes[order], options.shard_size)
        count = len(cuts) - 1
        for index in range(count):
            picked = order[cuts[index] : cuts[index + 1]]
            shards.append(
                ShardPlan(
                    split, index, count, picked.tolist(), next_id + int(cuts[index]), int(sizes[picked].sum())
                )
            )
        splits[split] = {
            "num_rows": len(data),
            "num_bytes": int(sizes.sum()),
            "counts": {"real": int((labels == 0).sum()), "fake": int((labels == 1).sum())},
            "sources": _source_counts(sources),
            "first_id": next_id,
        }
        next_id += len(data)
    return PackPlan(shards, splits, digest.hexdigest())


def _cuts(sizes: np.ndarray, shard_size: int) -> list[int]:
    """Row offsets where shards start (and the end), each shard holding about ``shard_size`` bytes."""
    cuts = [0]
    total = 0
    for i, size in enumerate(sizes.tolist()):
        if total and total + size > shard_size:
            cuts.append(i)
            total = 0
        total += size
    cuts.append(len(sizes))
    return cuts


def _source_counts(sources: list[str]) -> dict[str, int]:
    names, counts = np.unique(np.asarray(sources, dtype=object), return_counts=True)
    return {str(name): int(n) for name, n in zip(names, counts)}


def row_group_rows(shard: ShardPlan) -> int:
    """Rows per row group for ``shard``: about :data:`ROW_GROUP_BYTES` each, at least one."""
    mean = shard.num_bytes / max(1, len(shard.rows))
    return max(1, min(len(shard.rows), int(ROW_GROUP_BYTES // max(1.0, mean))))
