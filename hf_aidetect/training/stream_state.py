"""The Trainer side of a streamed train split: its loader, its position in every checkpoint, its id log.

* **Loader.** A ``DataLoader`` over the rank's :class:`~hf_aidetect.data.streaming.StreamingSplit`, prepared
  by accelerate with ``use_stateful_dataloader`` (torchdata's ``StatefulDataLoader``: the position of every
  loader worker) and *one* process: the split is already this rank's ``split_dataset_by_node`` share, and
  accelerate's own handling of an iterable dataset would either re-shard it or read every batch on rank 0
  (``dispatch_batches``). The Trainer's batch skipping on resume is switched off: the state does it. The
  workers send their positions every :func:`snapshot_interval` batches, not every batch.
* **Checkpoints.** Each rank writes ``stream_state-rank-R.json`` (the loader's ``state_dict()`` after the
  last batch of the step, the world size and workers it was taken with) next to its ``rng_state`` file, via
  :meth:`StreamCheckpoint.save` (atomically, inside the staged checkpoint folder). On resume the file is
  loaded before the first batch; a different number of processes or loader workers cannot continue the
  same shards and is an error.
* **Sample id log** (``--log_sample_ids``): ``OUTPUT_DIR/sample_ids/rank-R.jsonl``, one line per batch
  ``{"step": s, "ids": [...]}``; a resumed run first cuts it back to the checkpoint's step.
"""

from __future__ import annotations

import json
import logging
import math
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from accelerate.data_loader import prepare_data_loader
from transformers import TrainingArguments
from transformers.trainer_utils import IntervalStrategy, SaveStrategy

from hf_aidetect.data.streaming import StreamingSplit
from hf_aidetect.errors import ConfigError
from hf_aidetect.files import atomic_write_json, atomic_write_text
from hf_aidetect.files.layout import SAMPLE_LOG_DIR, STREAM_STATE

logger = logging.getLogger(__name__)

FORMAT = 1
SNAPSHOT_CAP = 256  # loader batches: the most a checkpoint off the snapshot grid replays on resume


def checkpoint_batches(args: TrainingArguments) -> int | None:
    """Loader batches between two checkpoints of ``args`` (``None``: no regular checkpoints)."""
    if args.save_strategy == SaveStrategy.STEPS:
        steps = args.save_steps
    elif args.save_strategy == SaveStrategy.BEST and args.eval_strategy == IntervalStrategy.STEPS:
        steps = args.eval_steps
    else:
        return None
    if not steps:
        return None
    if steps < 1:  # a fraction of max_steps, as the Trainer reads it
        steps = math.ceil(args.max_steps * steps)
    return int(steps) * args.gradient_accumulation_steps


def snapshot_interval(batches_per_checkpoint: int | None) -> int:
    """Loader batches between two transfers of the workers' stream positions to the main process.

    torchdata's default is every batch, which cost 8 % of the images/s of a 64 px stream on 2 workers
    (benchmarks case s). A checkpoint between two snapshots stays exact: on resume the loader replays the
    batches since the last snapshot. So the interval is the largest divisor of the checkpoint interval up to
    :data:`SNAPSHOT_CAP`: checkpoints on the grid replay nothing, one off it (the last step, a stop) replays
    fewer than :data:`SNAPSHOT_CAP` batches.
    """
    if batches_per_checkpoint is None:
        return SNAPSHOT_CAP
    limit = min(batches_per_checkpoint, SNAPSHOT_CAP)
    return max(d for d in range(1, limit + 1) if batches_per_checkpoint % d == 0)


class StreamCheckpoint:
    """Owns the streamed train loader of one rank and carries its state through checkpoints."""

    def __init__(self, trainer: Any, split: StreamingSplit, *, restart: bool, log_sample_ids: bool) -> None:
        self.trainer = trainer
        self.split = split
        self.restart = restart  # the user's --ignore_data_skip: start the stream over on resume
        self.loader: Any = None
        self.resume_from: str | None = None
        self.sample_log: Path | None = None
        if log_sample_ids:
            self.sample_log = Path(trainer.args.output_dir) / SAMPLE_LOG_DIR / f"rank-{self.rank}.jsonl"
        trainer.args.ignore_data_skip = True  # never replay batches to skip them: the state resumes

    @property
    def rank(self) -> int:
        return self.trainer.args.process_index

    @property
    def workers(self) -> int:
        return self.trainer.args.dataloader_num_workers or 0

    def dataloader(self) -> Any:
        """The rank's stateful loader, positioned at the resumed checkpoint when there is one."""
        args = self.trainer.args
        workers = self.workers
        loader = torch.utils.data.DataLoader(
            self.split,
            batch_size=self.trainer._train_batch_size,
            collate_fn=self.split.collator(sample_ids=self.sample_log is not None),
            num_workers=workers,
            pin_memory=args.dataloader_pin_memory,
            persistent_workers=args.dataloader_persistent_workers and workers > 0,
            prefetch_factor=args.dataloader_prefetch_factor if workers > 0 else None,
        )
        accelerator = self.trainer.accelerator
        with warnings.catch_warnings():  # torchdata 0.11 calls torch.set_vital, deprecated in torch 2.9+
            warnings.filterwarnings("ignore", message=".*set_vital.*")
            self.loader = prepare_data_loader(
                loader,
                accelerator.device,
                num_processes=1,  # already this rank's shards
                process_index=0,
                put_on_device=accelerator.device_placement,
                dispatch_batches=False,
                non_blocking=accelerator.non_blocking,
                use_stateful_dataloader=True,
            )
        # Read when the loader's iterator starts (prepare_data_loader does not pass it on).
        self.loader.base_dataloader.snapshot_every_n_steps = snapshot_interval(checkpoint_batches(args))
        self._start()
        return self.loader

    def _start(self) -> None:
        step = 0
        if self.resume_from is not None and not self.restart:
            state = self._read(Path(self.resume_from))
            self.loader.load_state_dict(state["dataloader"])
            step = int(state["global_step"])
            logger.info("Resumed the train stream at step %d (rank %d).", step, self.rank)
        elif self.resume_from is not None:
            logger.warning("--ignore_data_skip: the train stream starts over from its beginning.")
        if self.sample_log is not None:
            self._cut_sample_log(step if self.resume_from is not None else 0)

    def _read(self, checkpoint: Path) -> dict[str, Any]:
        path = checkpoint / STREAM_STATE.format(rank=self.rank)
        if not path.is_file():
            raise ConfigError(
                f"{checkpoint} has no {path.name}: it was not written by a streamed run of this world "
                "size. Resume with the same --streaming setup, or pass --ignore_data_skip true to restart "
                "the stream."
            )
        state = json.loads(path.read_text(encoding="utf-8"))
        world = self.trainer.args.world_size
        if (state.get("world_size"), state.get("num_workers")) != (world, self.workers):
            raise ConfigError(
                f"{checkpoint} was written by {state.get('world_size')} process(es) x "
                f"{state.get('num_workers')} loader worker(s); this run has {world} x {self.workers}. The "
                "stream position belongs to those shards: resume with the same counts "
                "(--dataloader_num_workers), or pass --ignore_data_skip true to restart the stream."
            )
        return state

    def save(self, checkpoint_dir: str) -> None:
        """Write this rank's stream position into ``checkpoint_dir`` (called with the RNG states)."""
        if self.loader is None:
            return
        state = {
            "format": FORMAT,
            "rank": self.rank,
            "world_size": self.trainer.args.world_size,
            "num_workers": self.workers,
            "global_step": self.trainer.state.global_step,
            "dataloader": self.loader.state_dict(),
        }
        folder = Path(checkpoint_dir)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(folder / STREAM_STATE.format(rank=self.rank), state, indent=None, sort_keys=False)

    def close(self) -> None:
        """Let the loader workers go: an endless stream never ends its loader by itself.

        accelerate's ``GradientState`` keeps a loader until its iteration ends, and the stateful loader
        keeps its iterator (and so its worker processes) for ``state_dict``: without this, the workers of a
        finished run would live as long as the Python process.
        """
        if self.loader is None:
            return
        self.loader.end()
        base = getattr(self.loader, "base_dataloader", None)
        iterator = getattr(base, "_iterator", None)
        if iterator is not None:
            base._iterator = None
            shutdown = getattr(iterator, "_shutdown_workers", None)
            if shutdown is not None:
                shutdown()
        self.loader = None

    def record(self, step: int, sample_ids: torch.Tensor) -> None:
        """Append one training batch's sample ids to the log (when ``--log_sample_ids``)."""
        if self.sample_log is None:
            return
        line = json.dumps({"step": step, "ids": sample_ids.tolist()})
        with open(self.sample_log, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def _cut_sample_log(self, step: int) -> None:
        """Keep the complete lines of steps <= ``step`` (a killed run may have logged past its checkpoint)."""
        self.sample_log.parent.mkdir(parents=True, exist_ok=True)
        kept: list[str] = []
        if step > 0 and self.sample_log.is_file():
            for line in self.sample_log.read_text(encoding="utf-8").splitlines():
                try:
                    if json.loads(line)["step"] <= step:
                        kept.append(line)
                except (ValueError, KeyError, TypeError):
                    break  # the torn last line of a killed run
        atomic_write_text(self.sample_log, "".join(f"{line}\n" for line in kept))


def read_sample_log(path: str | os.PathLike) -> list[tuple[int, list[int]]]:
    """``(step, ids)`` per logged batch, in order."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        rows.append((int(entry["step"]), [int(i) for i in entry["ids"]]))
    return rows
