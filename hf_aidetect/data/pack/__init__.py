"""``hf-aidetect pack``: image folders -> Parquet shards, a manifest and a dataset card (:mod:`.writer`).

::

    from hf_aidetect.data.pack import PackOptions, pack_dataset, parse_size

    result = pack_dataset("real_vs_fake/", "shards/", PackOptions(shard_size=parse_size("500MB")))
"""

from __future__ import annotations

from hf_aidetect._lazy import lazy_dir, lazy_getattr

_LAZY_ATTRIBUTES = {
    "PACK_FEATURES": "hf_aidetect.data.pack.writer",
    "PackOptions": "hf_aidetect.data.pack.options",
    "PackPlan": "hf_aidetect.data.pack.plan",
    "PackResult": "hf_aidetect.data.pack.writer",
    "ShardPlan": "hf_aidetect.data.pack.plan",
    "pack_dataset": "hf_aidetect.data.pack.writer",
    "parse_size": "hf_aidetect.data.pack.plan",
    "plan_pack": "hf_aidetect.data.pack.plan",
}
__all__ = list(_LAZY_ATTRIBUTES)
__getattr__ = lazy_getattr(__name__, _LAZY_ATTRIBUTES)
__dir__ = lazy_dir(globals(), _LAZY_ATTRIBUTES)
