"""``--streaming``: the train split as a stream, validation / test map-style (or streamed and capped).

:func:`load_streamed_data` is the streamed twin of the runner's map-style ``_load_data``:

* **train** -- ``datasets`` streaming through :class:`~hf_aidetect.data.streaming.StreamingSplit`, split by
  node (``split_dataset_by_node``) for this rank; never materialised;
* **validation / test** -- loaded map-style from their own data files and validated like any map-style
  split (exact metrics over the whole split), or, with ``--max_eval_samples N``, streamed and the first N
  rows of each kept (nothing else of them is read);
* **class counts** (``class_weights auto``, ``data_summary.json``) -- from the pack manifest when the
  source has one (``hf-aidetect pack``), else, only when ``class_weights auto`` needs them, from a counting
  pass over the train split's label column (Parquet reads that column only).

:func:`check_streaming_args` validates what crosses argument groups, once, before anything is read.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from datasets import Dataset, DatasetDict
from transformers.trainer_utils import IntervalStrategy

from hf_aidetect.data.hub import FEATURES
from hf_aidetect.data.loading import load_detection_dataset
from hf_aidetect.data.report import DatasetSummary, LoadReport
from hf_aidetect.data.streaming import (
    StreamingSplit,
    StreamSource,
    count_labels,
    find_image_column,
    normalise_stream,
    open_stream_source,
)
from hf_aidetect.errors import ConfigError, DatasetLayoutError
from hf_aidetect.training.arguments import DetectionTrainingArguments, ScriptArguments

logger = logging.getLogger(__name__)

EVAL_SPLITS = ("validation", "test")
# With save / eval strategy "epoch" (the recipes' default) a stream evaluates and saves this often instead.
STREAM_INTERVAL = 0.1


@dataclass
class StreamedData:
    """This rank's train stream, the map-style evaluation splits and what was learned about the data."""

    train: StreamingSplit
    evaluation: DatasetDict
    report: LoadReport
    source: StreamSource


def check_streaming_args(script_args: ScriptArguments, training_args: DetectionTrainingArguments) -> None:
    """Cross-group rules of a streamed run; ``epoch`` save / eval strategies become every 10 % of steps."""
    if training_args.max_steps is None or training_args.max_steps <= 0:
        raise ConfigError(
            "--streaming needs --max_steps N: a stream has no known length, so the schedule (warm-up, decay, "
            "checkpoints) is set in optimizer steps."
        )
    if script_args.report.evaluate_train:
        raise ConfigError("--evaluate_train needs a materialised train split: drop it with --streaming.")
    if script_args.pipeline.decode_cache:
        raise ConfigError("--decode_cache decodes a materialised dataset once: drop it with --streaming.")
    for kind in ("eval", "save"):
        if getattr(training_args, f"{kind}_strategy") == IntervalStrategy.EPOCH:
            setattr(training_args, f"{kind}_strategy", IntervalStrategy.STEPS)
            # Checkpoints land on evaluations, so the best one can be kept (load_best_model_at_end).
            every = training_args.eval_steps if kind == "save" else STREAM_INTERVAL
            setattr(training_args, f"{kind}_steps", every or STREAM_INTERVAL)
            logger.info(
                "--%s_strategy epoch has no meaning for a stream: %s every %d%% of --max_steps instead.",
                kind,
                "evaluating" if kind == "eval" else "saving",
                round(STREAM_INTERVAL * 100),
            )


def load_streamed_data(
    script_args: ScriptArguments, training_args: DetectionTrainingArguments
) -> StreamedData:
    """Open the source, stream this rank's train split, load the evaluation splits (see the module doc)."""
    if not script_args.dataset:
        raise ConfigError(
            "No dataset given: pass --dataset HUB_ID_OR_SHARDS or set `dataset:` in the recipe."
        )
    source = open_stream_source(script_args.dataset, revision=script_args.dataset_revision)
    missing = [split for split in ("train", *EVAL_SPLITS) if split not in source.splits]
    if missing:
        raise DatasetLayoutError(
            f"{source.origin} has no {' / '.join(missing)} split (found {source.splits}): a streamed run "
            "takes its splits as they are. Pack the data with `hf-aidetect pack DATA --out SHARDS/` (it "
            "carves missing splits) or drop --streaming."
        )
    columns = {
        "image_column": script_args.image_column,
        "label_column": script_args.label_column,
        "source_column": script_args.source_column,
    }
    rows = normalise_stream(
        source.stream("train"),
        **columns,
        id_column=script_args.stream_id_column,
        origin=source.where("train"),
    )
    with training_args.main_process_first(desc="loading the evaluation splits"):
        evaluation, eval_report = _evaluation_splits(source, script_args, columns)
    seed = training_args.data_seed if training_args.data_seed is not None else training_args.seed
    train = StreamingSplit(rows, seed=seed, shuffle_buffer=script_args.shuffle_buffer).for_node(
        training_args.process_index, training_args.world_size, training_args.dataloader_num_workers or 0
    )
    counts = _train_counts(source, script_args, training_args)
    summary = DatasetSummary(
        counts={**({"train": counts} if counts else {}), **eval_report.summary.counts},
        sources=_train_sources(source) | eval_report.summary.sources,
    )
    report = LoadReport(summary, eval_report.bad_images, layout="stream", root=source.origin)
    logger.info(
        "The pre-training audit needs the whole dataset: run `hf-aidetect audit` on the source folder."
    )
    logger.info("Streaming the train split of %s; evaluation splits: %s", source.origin, eval_report.summary)
    return StreamedData(train, evaluation, report, source)


def _evaluation_splits(
    source: StreamSource, script_args: ScriptArguments, columns: dict[str, Any]
) -> tuple[DatasetDict, LoadReport]:
    cap = script_args.max_eval_samples
    if cap is None:
        splits = DatasetDict({split: source.load(split) for split in EVAL_SPLITS})
        first = splits[EVAL_SPLITS[0]]  # e.g. a WebDataset's `jpg` column, found as the train stream's is
        image_column = find_image_column(
            first.features, first.column_names, columns["image_column"], source.where(EVAL_SPLITS[0])
        )
        columns = {**columns, "image_column": image_column}
    else:  # streamed and capped: already in the project's columns
        columns = {"image_column": "image", "label_column": "label", "source_column": "source"}
        splits = DatasetDict({split: _first_rows(source, split, cap, script_args) for split in EVAL_SPLITS})
    evaluation, report = load_detection_dataset(
        splits,
        **columns,
        bad_images=script_args.bad_images,
        validate=script_args.validate_images,
        purpose="evaluation",
        return_report=True,
    )
    for split in EVAL_SPLITS:
        present = report.summary.counts.get(split, {})
        if min(present.get("real", 0), present.get("fake", 0)) == 0:
            raise DatasetLayoutError(
                f"The {source.where(split)} has no {'real' if not present.get('real') else 'fake'} images"
                + (f" among its first {cap} rows; raise --max_eval_samples" if cap else "")
                + ": a detector needs both classes to be evaluated."
            )
    return evaluation, report


def _first_rows(source: StreamSource, split: str, cap: int, script_args: ScriptArguments) -> Dataset:
    rows = normalise_stream(
        source.stream(split),
        image_column=script_args.image_column,
        label_column=script_args.label_column,
        source_column=script_args.source_column,
        id_column=script_args.stream_id_column,
        origin=source.where(split),
    )
    kept = [{key: row[key] for key in FEATURES} for row in rows.take(cap)]
    return Dataset.from_list(kept, features=FEATURES)


def _train_counts(
    source: StreamSource, script_args: ScriptArguments, training_args: DetectionTrainingArguments
) -> dict[str, int] | None:
    counts = source.counts("train")
    if counts is not None:
        logger.info(
            "Train class counts from the pack manifest: %d real / %d fake.", counts["real"], counts["fake"]
        )
        return counts
    if training_args.class_weights != "auto":
        return None  # nothing needs them: no pass over the stream
    start = time.perf_counter()
    labels = source.labels("train", script_args.label_column)
    counts = count_labels(labels, script_args.label_column, source.where("train"))
    logger.info(
        "Train class counts from a counting pass over the label column (%.1f s): %d real / %d fake.",
        time.perf_counter() - start,
        counts["real"],
        counts["fake"],
    )
    return counts


def _train_sources(source: StreamSource) -> dict[str, dict[str, int]]:
    info = ((source.manifest or {}).get("splits") or {}).get("train") or {}
    sources = info.get("sources")
    return {"train": dict(sources)} if isinstance(sources, dict) and set(sources) - {""} else {}
