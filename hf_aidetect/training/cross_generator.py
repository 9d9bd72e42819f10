"""The cross-generator protocol: train a recipe once per held-out fake source, score that source unseen.

On data whose fake images carry a ``source`` (generator sub-folders ``fake/<generator>/...`` or a source
column), one **leg** per generator G:

* train and validation: every real image, and the fakes of all generators but G (the decision threshold
  is tuned there, on seen generators only, as in deployment);
* test: the real images of the test split and **every** fake of G (from all splits: none was trained on).

Each leg is a normal training run of the recipe (:func:`hf_aidetect.training.train`, in a child process by
default) into ``OUTPUT_DIR/<G>/`` with its end-of-run evaluation report, whose test split is the held-out
generator. ``OUTPUT_DIR/cross_generator.{md,csv,json}`` tabulate accuracy, fake recall, AP, ROC-AUC and TPR at
1 % FPR per held-out generator, and their mean. Like the sweeps it is resumable: a finished leg (its
``all_results.json`` and ``evaluation/metrics.json`` exist) is skipped, an interrupted one resumes from its
last checkpoint. The leg data is written once to ``OUTPUT_DIR/data/<G>/`` (file paths only, when the
images are files).
"""

from __future__ import annotations

import csv
import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from datasets import Image as ImageFeature

from hf_aidetect.errors import ConfigError
from hf_aidetect.files import atomic_open, atomic_write_json, atomic_write_text
from hf_aidetect.files.layout import (
    ALL_RESULTS,
    CROSS_GENERATOR_CSV,
    CROSS_GENERATOR_JSON,
    CROSS_GENERATOR_MARKDOWN,
    REPORT_METRICS,
    evaluation_file,
)
from hf_aidetect.markdown import markdown_table
from hf_aidetect.training.checkpoints import find_resumable_checkpoint
from hf_aidetect.training.sweep import PointRunner, SubprocessRunner, SweepPoint

logger = logging.getLogger(__name__)

REPORT = evaluation_file(REPORT_METRICS)
# Every leg writes its evaluation report (it is the result); robustness is off unless asked for.
LEG_DEFAULTS = ("--robustness_samples", "0")
LEG_FORCED = ("--evaluation_report", "true", "--source_column", "source", "--validate_images", "false")
OWNED_FLAGS = {"dataset", "output_dir", "config", "evaluation_report", "source_column"}
COLUMNS = ("accuracy", "recall_fake", "average_precision", "roc_auc", "tpr_at_1pct_fpr")


@dataclass
class Leg:
    """One held-out generator: its name, training folder and data folder."""

    source: str
    output_dir: Path
    data_dir: Path

    @property
    def is_done(self) -> bool:
        return (self.output_dir / ALL_RESULTS).is_file() and (self.output_dir / REPORT).is_file()


def _column(dataset: Dataset, name: str) -> np.ndarray:
    return np.asarray(dataset.with_format(None)[name], dtype=object)


def fake_sources(dataset: DatasetDict) -> list[str]:
    """The distinct sources of the fake images; at least two, and every fake must have one."""
    found: set[str] = set()
    unnamed = 0
    for split in dataset.values():
        labels, sources = _column(split, "label").astype(int), _column(split, "source").astype(str)
        found |= set(sources[labels == 1].tolist()) - {""}
        unnamed += int(((labels == 1) & (sources == "")).sum())
    if unnamed:
        raise ConfigError(
            f"{unnamed} fake image(s) have no source: put every fake under fake/<generator>/ (or pass "
            "--source_column) so each belongs to one generator"
        )
    if len(found) < 2:
        raise ConfigError(
            f"cross-generator needs fakes from at least two sources (generators), found {sorted(found)}: "
            "lay them out as fake/<generator>/..."
        )
    return sorted(found)


def leg_splits(dataset: DatasetDict, held_out: str) -> DatasetDict:
    """train / validation without the fakes of ``held_out``; test = test reals + every fake of it."""
    parts: dict[str, Dataset] = {}
    held: list[Dataset] = []
    for name in ("train", "validation", "test"):
        split = dataset[name]
        labels, sources = _column(split, "label").astype(int), _column(split, "source").astype(str)
        is_held = (labels == 1) & (sources == held_out)
        held.append(split.select(np.flatnonzero(is_held)))
        keep = ~is_held if name != "test" else labels == 0
        parts[name] = split.select(np.flatnonzero(keep))
    from datasets import concatenate_datasets

    parts["test"] = concatenate_datasets([parts["test"], *held])
    return DatasetDict(parts)


def save_leg_data(splits: DatasetDict, folder: Path) -> None:
    """``save_to_disk`` with image paths only when every image is a file (no copy of the pixels)."""
    raw = DatasetDict({n: s.cast_column("image", ImageFeature(decode=False)) for n, s in splits.items()})
    paths_only = all(
        item.get("path") and not item.get("bytes") for split in raw.values() for item in split["image"]
    )
    if paths_only:
        features = Features(
            {"image": Value("string"), "label": ClassLabel(names=["real", "fake"]), "source": Value("string")}
        )
        raw = DatasetDict(
            {
                name: Dataset.from_dict(
                    {
                        "image": [i["path"] for i in split["image"]],
                        "label": split["label"],
                        "source": split["source"],
                    },
                    features=features,
                )
                for name, split in raw.items()
            }
        )
    raw.save_to_disk(str(folder))


def _slug(source: str) -> str:
    return re.sub(r"[^\w.-]+", "_", source).strip("._") or "source"


def check_extra_args(extra_args: Sequence[str]) -> None:
    for token in extra_args:
        key = token[2:].split("=", 1)[0] if token.startswith("--") else None
        if key in OWNED_FLAGS:
            raise ConfigError(
                f"--{key} is set by cross-generator for every leg; drop it from the command line"
            )


def leg_argv(config: str | Path, leg: Leg, extra_args: Sequence[str] = ()) -> list[str]:
    """Recipe flags of one leg: the recipe < leg defaults < your flags < the leg's data and folder."""
    argv = ["--config", str(config), *LEG_DEFAULTS, *extra_args, *LEG_FORCED]
    argv += ["--dataset", str(leg.data_dir), "--output_dir", str(leg.output_dir)]
    if find_resumable_checkpoint(leg.output_dir, world_size=None)[0] is not None:
        argv += ["--resume_from_checkpoint", "last"]  # from its newest complete checkpoint
    return argv


def plan_legs(
    config: str | Path, dataset_source: str, output_dir: str | Path, extra_args: Sequence[str] = ()
) -> tuple[list[Leg], DatasetDict | None]:
    """The legs (and the loaded data when some leg still needs its data folder)."""
    from hf_aidetect.data import load_detection_dataset
    from hf_aidetect.training import parse_recipe_args

    check_extra_args(extra_args)
    output_dir = Path(output_dir)
    argv = ["--config", str(config), *extra_args, "--dataset", str(dataset_source)]
    script_args, _, _ = parse_recipe_args([*argv, "--output_dir", str(output_dir)])
    dataset = load_detection_dataset(dataset_source, **script_args.dataset_kwargs())
    legs = []
    for source in fake_sources(dataset):
        slug = _slug(source)
        legs.append(Leg(source, output_dir / slug, output_dir / "data" / slug))
    return legs, dataset


def run_cross_generator(
    config: str | Path,
    dataset_source: str,
    output_dir: str | Path,
    extra_args: Sequence[str] = (),
    runner: PointRunner | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Train and score every unfinished leg, then (re)write the table; return its rows and failed legs."""
    runner = runner or SubprocessRunner()
    legs, dataset = plan_legs(config, dataset_source, output_dir, extra_args)
    failed = []
    for number, leg in enumerate(legs, start=1):
        if leg.is_done:
            logger.info("Leg %d/%d (held out %s): finished earlier, skipped.", number, len(legs), leg.source)
            continue
        if not (leg.data_dir / "dataset_dict.json").is_file():
            save_leg_data(leg_splits(dataset, leg.source), leg.data_dir)
        leg.output_dir.mkdir(parents=True, exist_ok=True)
        logger.info("Leg %d/%d: training without %s.", number, len(legs), leg.source)
        try:
            runner(
                leg_argv(config, leg, extra_args),
                SweepPoint(number - 1, {"held_out": leg.source}, leg.output_dir),
            )
        except Exception as error:  # one failing leg must not end the protocol
            logger.error("Leg %s failed: %s", leg.source, error)
            failed.append(leg.source)
        write_table(Path(output_dir), legs)
    return write_table(Path(output_dir), legs), failed


def _leg_row(leg: Leg) -> dict[str, Any]:
    row: dict[str, Any] = {"held_out": leg.source, "status": "done" if leg.is_done else "pending"}
    if not leg.is_done:
        return row
    report = json.loads((leg.output_dir / REPORT).read_text(encoding="utf-8"))
    metrics = report["metrics"]
    one = next((r for r in report["operating_points"]["tpr_at_fpr"] if r["fpr"] == 0.01), {})
    row.update(
        num_fake=report["num_fake"],
        num_real=report["num_real"],
        accuracy=metrics["accuracy"],
        recall_fake=metrics["recall_fake"],
        average_precision=metrics["average_precision"],
        roc_auc=metrics["roc_auc"],
        tpr_at_1pct_fpr=one.get("tpr"),
        tpr_at_1pct_fpr_ci=one.get("ci"),
        threshold=report["threshold"]["source"],
    )
    return row


def _mean(rows: list[dict[str, Any]]) -> dict[str, Any]:
    done = [row for row in rows if row["status"] == "done"]
    mean: dict[str, Any] = {"held_out": f"mean of {len(done)}", "status": ""}
    for key in COLUMNS:
        values = [
            row[key] for row in done if isinstance(row.get(key), (int, float)) and not math.isnan(row[key])
        ]
        mean[key] = float(np.mean(values)) if values else None
    return mean


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def write_table(output_dir: Path, legs: list[Leg]) -> list[dict[str, Any]]:
    """``cross_generator.md`` / ``.csv`` / ``.json`` from the leg folders; returns the rows (mean last)."""
    rows = [_leg_row(leg) for leg in legs]
    rows.append(_mean(rows))
    output_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(output_dir / CROSS_GENERATOR_JSON, rows, sort_keys=False, default=str)
    fields = ["held_out", "num_fake", "num_real", *COLUMNS, "threshold", "status"]
    with atomic_open(output_dir / CROSS_GENERATOR_CSV, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        "# Cross-generator protocol",
        "",
        "One training run per held-out generator on all the others; scored on the held-out generator's "
        "fakes (every split) and the real test images, at the threshold tuned on the seen generators.",
        "",
    ]
    header = ["held-out generator", "fake", "real", "accuracy", "fake recall", "AP", "ROC-AUC",
              "TPR at 1 % FPR [95 % CI]", "status"]  # fmt: skip
    cells = []
    for row in rows:
        ci = row.get("tpr_at_1pct_fpr_ci") or [None, None]
        interval = f" [{_cell(ci[0])}, {_cell(ci[1])}]" if ci[0] is not None else ""
        cells.append(
            [row["held_out"], _cell(row.get("num_fake")), _cell(row.get("num_real")),
             *(_cell(row.get(key)) for key in COLUMNS[:-1]),
             f"{_cell(row.get('tpr_at_1pct_fpr'))}{interval}", row["status"]]
        )  # fmt: skip
    lines.append(markdown_table(header, cells, align="lrrrrrrll"))
    atomic_write_text(output_dir / CROSS_GENERATOR_MARKDOWN, "\n".join(lines) + "\n")
    return rows
