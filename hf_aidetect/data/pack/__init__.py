"""``hf-aidetect pack``: image folders -> Parquet shards, a manifest and a dataset card (:mod:`.writer`).

::

    from hf_aidetect.data.pack import PackOptions, pack_dataset, parse_size

    result = pack_dataset("real_vs_fake/", "shards/", PackOptions(shard_size=parse_size("500MB")))
"""

from __future__ import annotations

from hf_aidetect.data.pack.plan import PackOptions, PackPlan, ShardPlan, parse_size, plan_pack
from hf_aidetect.data.pack.writer import PACK_FEATURES, PackResult, pack_dataset

__all__ = [
    "PACK_FEATURES",
    "PackOptions",
    "PackPlan",
    "PackResult",
    "ShardPlan",
    "pack_dataset",
    "parse_size",
    "plan_pack",
]
