"""Files of the output folder contract that ``Trainer`` does not write itself.

``all_results.json`` (``train_*``, ``validation_*``, ``test_*``), ``epoch_metrics.csv`` (one row per
epoch from ``trainer_state.json``'s log history) and ``data_summary.json`` (the data layer's load report).
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

ALL_RESULTS = "all_results.json"
SPEED_SWITCHES = "speed_switches.json"  # the switches a run chose, reused when it resumes
EPOCH_METRICS = "epoch_metrics.csv"
DATA_SUMMARY = "data_summary.json"


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
    """Write ``data`` as indented, sorted JSON (non-finite floats become null)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(data), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


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
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=leading + extra, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def scalar_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Drop non-scalar entries (e.g. a nested confusion matrix) for JSON result files meant as flat tables."""
    return {key: value for key, value in metrics.items() if isinstance(value, (int, float, str, bool))}
