"""Files of the output folder contract that ``Trainer`` does not write itself, and the folder's guard.

``all_results.json`` (``train_*``, ``validation_*``, ``test_*``), ``epoch_metrics.csv`` (one row per
epoch from ``trainer_state.json``'s log history) and ``data_summary.json`` (the data layer's load report),
each written atomically; the names are :mod:`hf_aidetect.files.layout`'s. :func:`check_output_dir` runs
before any data or model is loaded: it refuses an unwritable folder, and a folder that already holds a
trained model unless the run resumes it or ``--overwrite_output_dir`` says to replace it (the transformers
convention).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_aidetect.errors import OutputError
from hf_aidetect.files import (
    atomic_write_json,
    atomic_write_text,
    check_writable_folder,
    is_partial,
    remove_directory,
)
from hf_aidetect.files.layout import ALL_RESULTS, DATA_SUMMARY, EPOCH_METRICS, RUN_OUTPUTS, split_results
from hf_aidetect.training.checkpoints import PREFIX_CHECKPOINT_DIR, checkpoint_folders, checkpoint_problems

if TYPE_CHECKING:
    from transformers import TrainingArguments

logger = logging.getLogger(__name__)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if hasattr(value, "item"):
        return value.item()
    return value


def write_json(path: str | Path, data: Mapping[str, Any]) -> Path:
    """Write ``data`` as indented, sorted JSON (non-finite floats become null), atomically."""
    return atomic_write_json(path, _jsonable(data))


def epoch_rows(log_history: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per evaluated epoch: mean logged train loss, last learning rate, eval metrics."""
    rows: dict[int, dict[str, Any]] = {}
    losses: dict[int, list[float]] = {}
    for entry in log_history:
        epoch = entry.get("epoch")
        if epoch is None:
            continue
        index = max(1, math.ceil(round(float(epoch), 6)))
        row = rows.setdefault(index, {"epoch": index})
        if "loss" in entry:
            losses.setdefault(index, []).append(float(entry["loss"]))
            if "learning_rate" in entry:
                row["learning_rate"] = entry["learning_rate"]
        elif any(key.startswith("eval_") for key in entry):
            row["step"] = entry.get("step")
            row.update({key: value for key, value in entry.items() if key.startswith("eval_")})
    for index, values in losses.items():
        rows[index]["train_loss"] = sum(values) / len(values)
    return [rows[index] for index in sorted(rows) if len(rows[index]) > 1]


def write_epoch_metrics(path: str | Path, log_history: Sequence[Mapping[str, Any]]) -> Path:
    """Write :func:`epoch_rows` as CSV (columns: epoch, step, train_loss, learning_rate, eval_*)."""
    rows = epoch_rows(log_history)
    leading = ["epoch", "step", "train_loss", "learning_rate"]
    extra = sorted({key for row in rows for key in row} - set(leading))
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=leading + extra, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(path, text.getvalue())


def write_results(output_dir: Path, results: Mapping[str, Any]) -> None:
    """``all_results.json`` and ``<split>_results.json`` (scalars only) for train / validation / test."""
    write_json(output_dir / ALL_RESULTS, results)
    for split in ("train", "validation", "test"):
        split_metrics = {k: v for k, v in results.items() if k.startswith(f"{split}_")}
        if split_metrics:
            write_json(output_dir / split_results(split), scalar_metrics(split_metrics))


def write_run_outputs(
    output_dir: Path,
    results: Mapping[str, Any],
    log_history: Sequence[Mapping[str, Any]],
    data_summary: Mapping[str, Any],
) -> None:
    """The results files, ``epoch_metrics.csv`` and ``data_summary.json`` of a finished run."""
    write_results(output_dir, results)
    write_epoch_metrics(output_dir / EPOCH_METRICS, log_history)
    write_json(output_dir / DATA_SUMMARY, data_summary)


def scalar_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Drop non-scalar entries (e.g. a nested confusion matrix) for JSON result files meant as flat tables."""
    return {key: value for key, value in metrics.items() if isinstance(value, (int, float, str, bool))}


def trained_model_files(output_dir: str | Path) -> list[str]:
    """What in ``output_dir`` shows a previous run: its top-level results and its complete checkpoints.

    Half-written checkpoints (a run killed while saving) do not count: nothing can be resumed from them,
    and a fresh run replaces them.
    """
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    found = [name for name in RUN_OUTPUTS if (output_dir / name).exists()]
    found += [
        path.name
        for _, path in checkpoint_folders(output_dir)
        if not checkpoint_problems(path, needs_optimizer=False)
    ]
    return found


def check_output_dir(output_dir: str | Path, *, overwrite: bool, resuming: bool) -> None:
    """Before the data and the model load: ``output_dir`` can be written, and holds no trained model
    unless the run resumes it or ``overwrite`` (``--overwrite_output_dir``) replaces it."""
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise OutputError(f"--output_dir {output_dir} is a file; pass a folder path")
    check_writable_folder(output_dir, flag="--output_dir", shown=output_dir)
    if overwrite or resuming:
        return
    found = trained_model_files(output_dir)
    if found:
        shown = ", ".join(found[:4]) + (", ..." if len(found) > 4 else "")
        raise OutputError(
            f"--output_dir {output_dir} already holds a trained model ({shown}); pass "
            "--overwrite_output_dir true to replace it, --resume_from_checkpoint last to continue that run, "
            "or choose another --output_dir"
        )


def prepare_output_dir(training_args: TrainingArguments, resume: str | None) -> None:
    """Refuse an unusable output_dir before any data or model loads; clear the staging folders of saves
    that never finished; with ``--overwrite_output_dir`` (and no resume) the previous run's checkpoints go
    too, so ``last`` and rotation never mix two runs."""
    output_dir = Path(training_args.output_dir)
    overwrite = bool(getattr(training_args, "overwrite_output_dir", False))  # ours; not in transformers 5
    check_output_dir(output_dir, overwrite=overwrite, resuming=resume is not None)
    fresh = resume is None and overwrite
    with training_args.main_process_first(desc="clearing the previous run's checkpoints"):
        if not training_args.should_save or not output_dir.is_dir():
            return
        for path in output_dir.glob(f".{PREFIX_CHECKPOINT_DIR}-*"):  # saves that never finished
            if is_partial(path.name) and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
        if fresh:
            old = [path for _, path in checkpoint_folders(output_dir)]
            if old:
                logger.info(
                    "--overwrite_output_dir: removing %d checkpoint(s) of the previous run.", len(old)
                )
            for path in old:
                remove_directory(path)
