"""Evaluate one model on several labelled sets at one operating point, with a table row per set.

Each DATA is loaded for evaluation (:func:`~hf_aidetect.data.load_detection_dataset` with
``purpose="evaluation"``): scored **whole**, nothing carved (``carve=True`` restores the training split
logic, e.g. to reproduce the test split a model was trained with). The threshold is the model's own unless
``threshold`` or a tuning set (``--tune-on``) is given; with ``save_to`` the tuned / fixed threshold is folded
into that model folder, its own ``evaluation/`` report is recomputed at the new operating point from its
``scores.csv`` and its model card is re-rendered. Without ``save_to`` nothing in the model folder changes.

One set writes its report into ``out_dir``; several write ``out_dir/<name>/`` each plus ``summary.md`` /
``summary.json``.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict
from datasets import Image as ImageFeature

from hf_aidetect.errors import ConfigError
from hf_aidetect.files import atomic_directory
from hf_aidetect.files.layout import EVALUATION_DIR, SUMMARY_JSON, SUMMARY_MARKDOWN
from hf_aidetect.inference.evaluation import evaluate_dataset, rederive_report
from hf_aidetect.inference.loading import Detector
from hf_aidetect.inference.operating_point import (
    ThresholdDecision,
    decide_threshold,
    example_batch,
    fold_decision,
)
from hf_aidetect.inference.robustness import json_safe
from hf_aidetect.inference.threshold import MIN_IMAGES_PER_CLASS
from hf_aidetect.markdown import markdown_table

logger = logging.getLogger(__name__)


@dataclass
class EvaluationSet:
    """One labelled set to score: where it came from, the split used and its rows."""

    name: str
    source: str
    split: str
    dataset: Dataset


def _pick_split(data: DatasetDict, source: str, split: str | None) -> str:
    if split is not None:
        if split not in data:
            raise ConfigError(f"{source} has no {split!r} split (it has {', '.join(data)}); drop --split")
        return split
    if "test" in data:
        return "test"
    if len(data) == 1:
        return next(iter(data))
    raise ConfigError(f"{source} has splits {', '.join(data)} but no test split; choose one with --split")


def _names(sources: list[str]) -> list[str]:
    """Short, unique folder names for the sets (``data/faces`` -> ``faces``, ``user/x`` -> ``user__x``)."""
    names: list[str] = []
    for source in sources:
        path = Path(source).expanduser()
        base = path.name if path.exists() else source.replace("/", "__")
        base = re.sub(r"[^\w.-]+", "_", base).strip("._") or "data"
        name, number = base, 2
        while name in names:
            name, number = f"{base}-{number}", number + 1
        names.append(name)
    return names


def load_evaluation_sets(
    sources: list[str], *, split: str | None = None, carve: bool = False, **load_kwargs: Any
) -> list[EvaluationSet]:
    """Load each source for evaluation; the split is ``split``, else ``test``, else the only one."""
    from hf_aidetect.data import load_detection_dataset

    purpose = "training" if carve else "evaluation"
    sets = []
    for source, name in zip(sources, _names(sources)):
        data = load_detection_dataset(source, purpose=purpose, **load_kwargs)
        chosen = _pick_split(data, source, split)
        sets.append(EvaluationSet(name, source, chosen, data[chosen]))
    return sets


def load_tuning_set(source: str, **load_kwargs: Any) -> tuple[Dataset, str]:
    """The set a threshold is tuned on: the ``validation`` split of ``source``, else its only split."""
    from hf_aidetect.data import load_detection_dataset

    data = load_detection_dataset(source, purpose="evaluation", **load_kwargs)
    shown = _names([source])[0]  # no local path in reports and cards: only the folder's name
    if "validation" in data:
        return data["validation"], f"the validation split of {shown}"
    if len(data) == 1:
        split = next(iter(data))
        return data[split], f"`{shown}`" + (f" ({split} split)" if split != "test" else "")
    raise ConfigError(
        f"--tune-on {source} has splits {', '.join(data)} but no validation split: tune on a validation "
        "folder (valid/ or validation/) or on a folder of class folders"
    )


def refresh_model_folder(model_dir: Path, decision: ThresholdDecision, shift: float) -> None:
    """After a fold: recompute ``MODEL/evaluation`` at the new operating point and re-render the card."""
    from hf_aidetect.publishing.model_card import write_model_card

    report_dir = model_dir / EVALUATION_DIR
    if report_dir.is_dir():  # rebuilt in a copy that replaces the old report only once complete
        with atomic_directory(report_dir, replace=True) as partial:
            shutil.copytree(report_dir, partial, dirs_exist_ok=True)
            rederive_report(partial, shift, decision)
    write_model_card(model_dir)


def _summary_row(item: EvaluationSet, report: dict[str, Any]) -> dict[str, Any]:
    metrics, points = report["metrics"], report["operating_points"]
    tpr = {row["fpr"]: row for row in points["tpr_at_fpr"]}
    one_percent = tpr.get(0.01, {})
    return {
        "dataset": item.name,
        "source": item.source,
        "split": item.split,
        "num_real": report["num_real"],
        "num_fake": report["num_fake"],
        "accuracy": metrics["accuracy"],
        "balanced_accuracy": metrics["balanced_accuracy"],
        "recall_fake": metrics["recall_fake"],
        "roc_auc": metrics["roc_auc"],
        "average_precision": metrics["average_precision"],
        "tpr_at_1pct_fpr": one_percent.get("tpr"),
        "tpr_at_1pct_fpr_ci": one_percent.get("ci"),
        "tpr_at_1pct_fpr_resolvable": one_percent.get("resolvable"),
        "ece": report["calibration"]["ece"],
        "threshold": report["threshold"]["value"],
    }


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def summary_markdown(rows: list[dict[str, Any]], decision: ThresholdDecision) -> str:
    header = ["dataset", "split", "real", "fake", "accuracy", "balanced acc.", "fake recall", "ROC-AUC", "AP",
              "TPR at 1 % FPR [95 % CI]", "ECE"]  # fmt: skip
    cells = []
    for row in rows:
        ci = row["tpr_at_1pct_fpr_ci"] or [None, None]
        interval = f" [{_cell(ci[0])}, {_cell(ci[1])}]" if ci[0] is not None and ci[0] == ci[0] else ""
        resolvable = "" if row["tpr_at_1pct_fpr_resolvable"] else " (*)"
        cells.append(
            [row["dataset"], row["split"], row["num_real"], row["num_fake"], _cell(row["accuracy"]),
             _cell(row["balanced_accuracy"]), _cell(row["recall_fake"]), _cell(row["roc_auc"]),
             _cell(row["average_precision"]), f"{_cell(row['tpr_at_1pct_fpr'])}{interval}{resolvable}",
             _cell(row["ece"])]
        )  # fmt: skip
    lines = [
        "# Evaluation summary",
        "",
        f"Decision threshold {decision.value:.4f} ({decision.source}); an image is fake when "
        "P(fake) >= the threshold. Every image of each set is scored; intervals: stratified bootstrap.",
        "",
        markdown_table(header, cells, align="llrrrrrrrlr"),
    ]
    if any(not row["tpr_at_1pct_fpr_resolvable"] for row in rows):
        lines += [
            "",
            "(*) fewer than 100 real images: 1 % FPR cannot be resolved; the figure is the TPR at FPR 0.",
        ]
    return "\n".join(lines) + "\n"


def _file_paths(dataset: Dataset) -> set[str]:
    images = dataset.select_columns(["image"]).cast_column("image", ImageFeature(decode=False))
    return {item["path"] for item in images["image"] if item.get("path") and not item.get("bytes")}


def _warn_overlap(tuning: Dataset, sets: list[EvaluationSet]) -> None:
    """Tuning on images that are also evaluated makes their metrics optimistic: say so, loudly."""
    tuned = _file_paths(tuning)
    for item in sets:
        shared = len(tuned & _file_paths(item.dataset)) if tuned else 0
        if shared:
            logger.warning(
                "%d image(s) of the tuning set are also evaluated in %s: its metrics are optimistic",
                shared,
                item.source,
            )


def evaluate_sets(
    detector: Detector,
    sets: list[EvaluationSet],
    out_dir: str | Path,
    *,
    threshold: float | None = None,
    tuning: tuple[Dataset, str] | None = None,
    target_fpr: float | None = None,
    min_per_class: int = MIN_IMAGES_PER_CLASS,
    save_to: Path | None = None,
    score_kwargs: dict[str, Any] | None = None,
    **report_options: Any,
) -> tuple[list[dict[str, Any]], ThresholdDecision]:
    """Decide the threshold once, optionally fold it into ``save_to``, then report every set.

    Returns the summary rows and the decision; ``report_options`` go to :func:`evaluate_dataset`.
    """
    if not sets:
        raise ConfigError("nothing to evaluate: pass at least one DATA")
    tuning_set, tuning_name = tuning if tuning is not None else (None, "")
    if tuning_set is not None:
        _warn_overlap(tuning_set, sets)
    decision = decide_threshold(
        detector,
        threshold=threshold,
        tuning=tuning_set,
        tuning_name=tuning_name,
        target_fpr=target_fpr,
        min_per_class=min_per_class,
        strict=True,
        score_kwargs=score_kwargs,
    )
    if save_to is not None:
        if not decision.can_fold:
            raise ConfigError(
                "--save-threshold needs a threshold to save: add --tune-on DATA or --threshold T"
            )
        decision, shift = fold_decision(detector, decision, example_batch(detector, sets[0].dataset), save_to)
        refresh_model_folder(save_to, decision, shift)
    out = Path(out_dir)
    rows = []
    for item in sets:
        target = out if len(sets) == 1 else out / item.name
        report = evaluate_dataset(
            detector,
            item.dataset,
            decision,
            target,
            split=item.split,
            dataset_name=item.source,
            score_kwargs=score_kwargs,
            **report_options,
        )
        rows.append(_summary_row(item, report))
    if len(sets) > 1:
        out.mkdir(parents=True, exist_ok=True)
        (out / SUMMARY_MARKDOWN).write_text(summary_markdown(rows, decision), encoding="utf-8")
        payload = {"threshold": decision.to_dict(), "rows": rows}
        (out / SUMMARY_JSON).write_text(json.dumps(json_safe(payload), indent=2) + "\n", encoding="utf-8")
    return rows, decision
