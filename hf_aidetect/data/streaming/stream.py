"""``StreamingSplit``: a streamed train split as the Trainer's dataset, with an exact, saved position.

The rows come from ``datasets`` streaming (an ``IterableDataset`` of :data:`~.rows.STREAM_FEATURES` rows):
``split_dataset_by_node`` gives each rank disjoint shards, ``datasets`` gives each loader worker disjoint
shards of those, and ``set_epoch`` reshuffles the shard order of every pass. On top, this class only

* loops over passes (so the Trainer sees one endless stream, every rank yields a full batch at every step,
  and ``max_steps`` sets the schedule), numbering them: the pass is the *epoch* of the augmentation keys;
* shuffles within blocks of ``shuffle_buffer`` rows: a block is read whole and emitted in the order of
  ``keyed_uniform(seed, pass, sample_id)``;
* reports its position as ``state_dict()`` = (pass, the ``datasets`` state at the block's start, rows
  emitted from the block). ``load_state_dict`` re-reads that one block and skips the emitted rows, so a
  resumed stream yields exactly the rows an uninterrupted one would, in the same order.

Why not ``IterableDataset.shuffle(buffer_size=...)``: in ``datasets`` 5.2 its state dict holds only the
position of the rows *feeding* the buffer (``BufferShuffledExamplesIterable._init_state_dict``); on
``load_state_dict`` the buffer is refilled from there and its random generator restarts, so the up to
``buffer_size`` rows that sat in the buffer at the checkpoint are never seen in that pass and the order
afterwards differs from an uninterrupted run. A block shuffle has no such hidden state.

:class:`StreamCollator` turns a list of rows into a training batch with the **same** loader-stage
transform as map-style training (:class:`~hf_aidetect.data.preprocessing.transform.ImageTransform`), keyed
by (pass, sample id), and adds ``sample_ids`` when asked (the Trainer pops them; ``--log_sample_ids`` records
them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

import numpy as np
import torch
from datasets import IterableDataset
from datasets.distributed import split_dataset_by_node

from hf_aidetect.data.preprocessing.draws import keyed_uniform
from hf_aidetect.data.streaming.rows import SAMPLE_ID
from hf_aidetect.data.validation import check_image
from hf_aidetect.errors import BadImageError

logger = logging.getLogger(__name__)

STATE_FORMAT = 1
_BLOCK_SALT = 1  # keyed_uniform salt of the block order (carving uses another)
_EPOCH_SALT = 2


def datasets_epoch(seed: int, stream_pass: int) -> int:
    """``set_epoch`` value of a pass: > 0 (so ``datasets`` reshuffles the shard order), seed-dependent."""
    unit = keyed_uniform(seed, np.array([stream_pass]), np.array([0]), salt=_EPOCH_SALT)[0]
    return 1 + int(unit * (2**31 - 2))


class StreamingSplit(torch.utils.data.IterableDataset):
    """Endless, block-shuffled passes over a rank's rows; ``state_dict`` / ``load_state_dict`` are exact.

    ``transform`` is the split's loader-stage transform (applied by :meth:`collator`, in the loader
    workers). One instance lives in each loader worker (or the main process with 0 workers), each over
    its own shards; the loader (torchdata's ``StatefulDataLoader``, through accelerate) gathers their states.
    """

    def __init__(
        self,
        rows: IterableDataset,
        transform: Callable[..., dict[str, Any]] | None = None,
        *,
        seed: int = 0,
        shuffle_buffer: int = 0,
    ) -> None:
        self.rows = rows
        self.transform = transform
        self.seed = int(seed)
        self.shuffle_buffer = max(0, int(shuffle_buffer))
        self._state: dict[str, Any] = self._fresh_state(0)
        self._resume: dict[str, Any] | None = None
        self._rows_read = 0

    # -- construction ---------------------------------------------------------------------------------

    def with_transform(self, transform: Callable[..., dict[str, Any]]) -> StreamingSplit:
        return StreamingSplit(self.rows, transform, seed=self.seed, shuffle_buffer=self.shuffle_buffer)

    def for_node(self, rank: int, world_size: int, loader_workers: int = 0) -> StreamingSplit:
        """This rank's share (``split_dataset_by_node``); resharded by row group when shards are too few."""
        rows = self.rows
        wanted = world_size * max(1, loader_workers)
        if rows.num_shards < wanted and hasattr(rows, "reshard"):  # datasets >= 4.x
            resharded = rows.reshard()
            if resharded.num_shards > rows.num_shards:
                logger.info(
                    "Resharded the stream from %d to %d shards (Parquet row groups) for %d process(es) x %d "
                    "loader worker(s).",
                    rows.num_shards,
                    resharded.num_shards,
                    world_size,
                    max(1, loader_workers),
                )
                rows = resharded
        if world_size > 1:
            if rows.num_shards < world_size:
                logger.warning(
                    "The stream has %d shard(s) for %d processes: every rank reads all of it and keeps 1 row "
                    "in %d. Write more shards (hf-aidetect pack --shard-size) to read disjoint files.",
                    rows.num_shards,
                    world_size,
                    world_size,
                )
            rows = split_dataset_by_node(rows, rank=rank, world_size=world_size)
        if rows.num_shards < max(1, loader_workers):
            logger.warning(
                "Rank %d has %d stream shard(s) for %d loader workers: %d worker(s) will idle.",
                rank,
                rows.num_shards,
                loader_workers,
                loader_workers - rows.num_shards,
            )
        split = StreamingSplit(rows, self.transform, seed=self.seed, shuffle_buffer=self.shuffle_buffer)
        return split

    def collator(self, *, sample_ids: bool = True) -> StreamCollator:
        """The loader's ``collate_fn``; ``sample_ids=False`` leaves the ids out of the batches (see
        :class:`StreamCollator`)."""
        if self.transform is None:
            raise ValueError("StreamingSplit has no transform: build it with one (or with_transform).")
        return StreamCollator(self.transform, sample_ids=sample_ids)

    # -- iteration ------------------------------------------------------------------------------------

    @staticmethod
    def _fresh_state(stream_pass: int) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "pass": stream_pass, "block_start": None, "offset": 0}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        state = self._resume or self._fresh_state(self._state["pass"])
        self._resume = None
        stream_pass = int(state["pass"])
        while True:
            self._rows_read = 0
            yield from self._one_pass(stream_pass, state["block_start"], int(state["offset"]))
            if self._rows_read == 0 and state["block_start"] is None:
                return  # a worker (or rank) without rows: stop instead of spinning
            stream_pass += 1
            state = self._fresh_state(stream_pass)

    def _one_pass(self, stream_pass: int, block_start: dict | None, skip: int) -> Iterator[dict[str, Any]]:
        # `datasets` keeps the epoch in a shared-memory tensor (so that the main process reaches persistent
        # workers); forked loader workers would share it and race, each worker being at its own pass.
        # Each worker's copy gets a private epoch instead.
        if hasattr(self.rows, "_epoch") and not isinstance(self.rows._epoch, int):
            self.rows._epoch = int(self.rows.epoch)
        self.rows.set_epoch(datasets_epoch(self.seed, stream_pass))
        self.rows.load_state_dict(block_start)  # None: from the start of the pass
        rows = iter(self.rows)
        size = self.shuffle_buffer or 1
        start = block_start
        while True:
            block = list(islice(rows, size))
            if not block:
                return
            self._rows_read += len(block)
            order = self._block_order(block, stream_pass)
            for position in range(skip, len(order)):
                self._state = {
                    "format": STATE_FORMAT,
                    "pass": stream_pass,
                    "block_start": start,
                    "offset": position + 1,
                }
                yield {**block[order[position]], "epoch": stream_pass}
            skip = 0
            start = self.rows.state_dict()  # after the block's last row: the next block's start

    def _block_order(self, block: Sequence[Mapping[str, Any]], stream_pass: int) -> np.ndarray:
        if self.shuffle_buffer <= 1:
            return np.arange(len(block))
        ids = np.fromiter((row[SAMPLE_ID] for row in block), dtype=np.int64, count=len(block))
        keys = keyed_uniform(self.seed, np.full(len(block), stream_pass), ids, salt=_BLOCK_SALT)
        return np.argsort(keys, kind="stable")

    # -- checkpointing (torchdata's Stateful protocol) ------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Where the next row comes from: (pass, ``datasets`` state at the block start, rows emitted)."""
        return dict(self._state)

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        if state_dict.get("format") != STATE_FORMAT:
            raise ValueError(f"Unknown stream state format {state_dict.get('format')!r}.")
        self._state = dict(state_dict)
        self._resume = dict(state_dict)


class StreamCollator:
    """Rows -> a training batch through the split's transform, keyed by (pass, sample id).

    A row whose image cannot be decoded is dropped from its batch with a warning (a stream cannot be
    validated up front; ``hf-aidetect pack`` validates once, when the shards are written).

    ``sample_ids`` adds the batch's ids as a tensor. Only ``--log_sample_ids`` needs them, and from loader
    workers every tensor of a batch travels through its own shared-memory segment: a third one cost 8 % of
    the images/s of a 64 px stream on 2 workers (benchmarks case s).
    """

    def __init__(self, transform: Callable[..., dict[str, Any]], *, sample_ids: bool = True) -> None:
        self.transform = transform
        self.sample_ids = sample_ids

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        try:
            return self._batch(rows)
        except BadImageError:
            good = [row for row in rows if self._readable(row)]
            if not good:
                raise
            return self._batch(good)

    def _batch(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        epochs = np.fromiter((row["epoch"] for row in rows), dtype=np.int64, count=len(rows))
        ids = np.fromiter((row[SAMPLE_ID] for row in rows), dtype=np.int64, count=len(rows))
        batch = {"image": [row["image"] for row in rows], "label": [row["label"] for row in rows]}
        out = self.transform(batch, (epochs, ids))
        if self.sample_ids:
            out["sample_ids"] = torch.from_numpy(ids)
        return out

    @staticmethod
    def _readable(row: Mapping[str, Any]) -> bool:
        reason = check_image(row["image"])
        if reason is not None:
            logger.warning("Dropped stream sample %d from its batch: %s", row[SAMPLE_ID], reason)
        return reason is None
