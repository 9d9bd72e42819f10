"""Streamed data: ``datasets`` streaming sources, their rows in the project's shape, and the train stream.

::

    from hf_aidetect.data.streaming import StreamingSplit, normalise_stream, open_stream_source

    source = open_stream_source("user/faces-shards")                # Hub id, shard folder / files
    rows = normalise_stream(source.stream("train"), origin=source.where("train"))
    train = StreamingSplit(rows, transforms.train, seed=42, shuffle_buffer=1000).for_node(rank, world, 2)

* :mod:`.sources` -- resolve a source once; stream a split, or load one map-style from its own files;
* :mod:`.rows` -- image / label / source / stable sample id, the counting pass;
* :mod:`.stream` -- :class:`StreamingSplit` (passes, block shuffle, exact state) and its collator.
"""

from __future__ import annotations

from hf_aidetect.data.streaming.rows import (
    SAMPLE_ID,
    STREAM_FEATURES,
    count_labels,
    find_image_column,
    normalise_stream,
)
from hf_aidetect.data.streaming.sources import PACK_MANIFEST, StreamSource, open_stream_source
from hf_aidetect.data.streaming.stream import StreamCollator, StreamingSplit

__all__ = [
    "PACK_MANIFEST",
    "SAMPLE_ID",
    "STREAM_FEATURES",
    "StreamCollator",
    "StreamSource",
    "StreamingSplit",
    "count_labels",
    "find_image_column",
    "normalise_stream",
    "open_stream_source",
]
