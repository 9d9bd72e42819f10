"""The evaluation report: metrics at one operating point, TPR at low FPR, calibration, plots, robustness.

:func:`evaluate_model` is the one entry point, used by ``hf-aidetect evaluate`` and at the end of a training
run (which writes into ``OUTPUT_DIR/evaluation/`` and folds the tuned threshold into the saved model).
Files written to ``out_dir``::

    metrics.json          everything below as JSON (NaN -> null)
    report.md             the same as markdown, for people and the model card
    scores.csv            P(fake) per image (clean and perturbed), no paths: the report is recomputed from it
    confusion_matrix.png  roc_curve.png  pr_curve.png  score_histogram.png  reliability_diagram.png
    robustness.md / robustness.json   metrics under JPEG / downscale / blur perturbations
    gallery.png           explanation heatmaps: most confident real / fake and the worst errors

The report itself is :func:`build_report`, a pure function of a :class:`ScoreTable` and a
:class:`ThresholdDecision`; :func:`rederive_report` rebuilds a saved report after the model's operating
point moved, from its ``scores.csv`` alone.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset, DatasetDict

from hf_aidetect.errors import ConfigError
from hf_aidetect.files.layout import (
    GALLERY,
    REPORT_MARKDOWN,
    REPORT_METRICS,
    ROBUSTNESS_JSON,
    ROBUSTNESS_MARKDOWN,
    SCORES,
)
from hf_aidetect.inference.loading import Detector
from hf_aidetect.inference.operating_point import (
    ThresholdDecision,
    decide_threshold,
    example_batch,
    fold_decision,
)
from hf_aidetect.inference.report import write_report_markdown
from hf_aidetect.inference.robustness import PERTURBATIONS, json_safe, robustness_rows, write_robustness
from hf_aidetect.inference.score_table import ScoreTable, shift_scores
from hf_aidetect.inference.scoring import dataset_labels, score_dataset
from hf_aidetect.inference.threshold import MIN_IMAGES_PER_CLASS
from hf_aidetect.metrics import detection_metrics
from hf_aidetect.metrics.calibration import calibration_summary
from hf_aidetect.metrics.operating_points import DEFAULT_RESAMPLES, operating_points

logger = logging.getLogger(__name__)

PLOT_FILES = {
    "confusion_matrix": "confusion_matrix.png",
    "roc_curve": "roc_curve.png",
    "pr_curve": "pr_curve.png",
    "score_histogram": "score_histogram.png",
    "reliability_diagram": "reliability_diagram.png",
}
PER_SOURCE_FPR = 0.01


def _metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    with warnings.catch_warnings():  # sklearn warns on one-class subsets; the metric is NaN then
        warnings.simplefilter("ignore")
        return detection_metrics(labels, scores, threshold=threshold)


def per_source_metrics(
    labels: np.ndarray, scores: np.ndarray, sources: np.ndarray, threshold: float
) -> list[dict[str, Any]]:
    """Accuracy, average precision and TPR at 1 % FPR per source (generator / sub-folder).

    Accuracy is on the source's own images. AP and TPR need both classes, so a fake-only source (a
    generator) is scored against all real images of the split, and a real-only source against all fake
    images (``ap_basis`` says which).
    """
    rows = []
    for source in sorted(set(sources.tolist())):
        own = sources == source
        present = set(labels[own].tolist())
        if present == {1}:
            basis, basis_name = own | (labels == 0), "vs all real"
        elif present == {0}:
            basis, basis_name = own | (labels == 1), "vs all fake"
        else:
            basis, basis_name = own, "own images"
        own_metrics = _metrics(labels[own], scores[own], threshold)
        basis_metrics = _metrics(labels[basis], scores[basis], threshold)
        points = operating_points(labels[basis], scores[basis], fprs=(PER_SOURCE_FPR,), resamples=0)
        rows.append(
            {
                "source": source or "(none)",
                "num_samples": int(own.sum()),
                "num_real": int((labels[own] == 0).sum()),
                "num_fake": int((labels[own] == 1).sum()),
                "accuracy": float(own_metrics["accuracy"]),
                "average_precision": float(basis_metrics["average_precision"]),
                "tpr_at_1pct_fpr": float(points["tpr_at_fpr"][0]["tpr"]),
                "ap_basis": basis_name,
            }
        )
    return rows


def write_plots(
    labels: np.ndarray, scores: np.ndarray, matrix: list, threshold: float, calibration: dict, out: Path
) -> dict:
    """The report figures into ``out``; ROC / PR are skipped when only one class is present."""
    from hf_aidetect.inference import plots

    two_classes = len(set(labels.tolist())) == 2
    if not two_classes:
        logger.warning("ROC / PR curves skipped: the evaluated split has one class only")
    written = {
        "confusion_matrix": plots.plot_confusion_matrix(
            matrix, out / PLOT_FILES["confusion_matrix"], threshold
        )
    }
    for name, plot in (
        ("roc_curve", plots.plot_roc_curve),
        ("pr_curve", plots.plot_pr_curve),
        ("score_histogram", plots.plot_score_histogram),
    ):
        if two_classes or name == "score_histogram":
            written[name] = plot(labels, scores, out / PLOT_FILES[name], threshold)
    written["reliability_diagram"] = plots.plot_reliability_diagram(
        calibration, out / PLOT_FILES["reliability_diagram"]
    )
    return {name: path.name for name, path in written.items()}


def score_perturbations(
    detector: Detector,
    dataset: Dataset,
    *,
    max_samples: int | None,
    seed: int,
    score_kwargs: dict[str, Any],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """P(fake) under each perturbation for a seeded random subset of at most ``max_samples`` rows."""
    indices = np.arange(len(dataset))
    if max_samples is not None and len(dataset) > max_samples:
        indices = np.sort(np.random.default_rng(seed).choice(len(dataset), max_samples, replace=False))
    subset = dataset.select(indices.tolist())
    perturbed = {
        name: score_dataset(detector, subset, perturbation=perturbation, desc=name, **score_kwargs)
        for name, perturbation in PERTURBATIONS.items()
    }
    return indices, perturbed


def _robustness(table: ScoreTable, threshold: float, out: Path) -> dict[str, Any]:
    rows_index = table.perturbed_rows
    labels = table.labels[rows_index]
    results = {"clean": _metrics(labels, table.scores[rows_index], threshold)}
    for name, scores in table.perturbed.items():
        results[name] = _metrics(labels, scores, threshold)
    rows = robustness_rows(results)
    write_robustness(rows, out, threshold, len(rows_index))
    return {"num_samples": len(rows_index), "rows": rows, "files": [ROBUSTNESS_MARKDOWN, ROBUSTNESS_JSON]}


def build_report(
    table: ScoreTable,
    decision: ThresholdDecision,
    out_dir: str | Path,
    *,
    split: str,
    dataset_name: str | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    gallery: str | None = None,
) -> dict[str, Any]:
    """Write metrics.json, report.md, scores.csv, the plots and the robustness table; return the report."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    value = float(decision.value)
    labels, scores = table.labels, table.scores
    metrics = _metrics(labels, scores, value)
    calibration = calibration_summary(labels, scores)
    report: dict[str, Any] = {
        "dataset": dataset_name,
        "split": split,
        "num_samples": int(labels.size),
        "num_real": int((labels == 0).sum()),
        "num_fake": int((labels == 1).sum()),
        "threshold": decision.to_dict(),
        "metrics": metrics,
        "metrics_at_0.5": _metrics(labels, scores, 0.5),
        "operating_points": operating_points(labels, scores, resamples=resamples, seed=seed),
        "calibration": calibration,
        "plots": write_plots(labels, scores, metrics["confusion_matrix"], value, calibration, out),
        "scores_file": table.write_csv(out / SCORES).name,
    }
    if len(set(table.sources.tolist())) > 1:
        report["per_source"] = per_source_metrics(labels, scores, table.sources, value)
    if table.perturbed:
        report["robustness"] = _robustness(table, value, out)
    if gallery:
        report["gallery"] = gallery
    (out / REPORT_METRICS).write_text(json.dumps(json_safe(report), indent=2) + "\n", encoding="utf-8")
    write_report_markdown(report, out / REPORT_MARKDOWN)
    logger.info("Evaluation report written to %s", out)
    return report


def rederive_report(
    report_dir: str | Path, shift: float, decision: ThresholdDecision
) -> dict[str, Any] | None:
    """Rebuild the report in ``report_dir`` for a model whose fake logit moved by ``shift``; None without
    its ``scores.csv`` (then the old report is left as it is and a warning says it is stale)."""
    folder = Path(report_dir)
    scores_path, metrics_path = folder / SCORES, folder / REPORT_METRICS
    if not scores_path.is_file() or not metrics_path.is_file():
        if metrics_path.is_file():
            logger.warning(
                "%s has no %s: its metrics are at the old threshold; re-run evaluate", folder, SCORES
            )
        return None
    old = json.loads(metrics_path.read_text(encoding="utf-8"))
    bootstrap = (old.get("operating_points") or {}).get("bootstrap") or {}
    return build_report(
        ScoreTable.read_csv(scores_path).shifted(shift),
        decision,
        folder,
        split=old.get("split", "test"),
        dataset_name=old.get("dataset"),
        resamples=int(bootstrap.get("resamples", DEFAULT_RESAMPLES)),
        seed=int(bootstrap.get("seed", 0)),
        gallery=old.get("gallery"),
    )


def _select(dataset_dict: DatasetDict | Mapping[str, Dataset], split: str) -> Dataset:
    """A split without any training transform attached (rows must give images)."""
    if split not in dataset_dict:
        raise ConfigError(f"split {split!r} not found; the data has {', '.join(dataset_dict)}")
    return dataset_dict[split].with_format(None)


def _given_scores(
    known: Mapping[str, np.ndarray], split: str | None, dataset: Dataset | None
) -> np.ndarray | None:
    """``known[split]`` as float64 when it has one score per row of ``dataset``, else None."""
    given = known.get(split) if split is not None else None
    if given is None or dataset is None:
        return None
    given = np.asarray(given, dtype=np.float64)
    return given if given.shape == (len(dataset),) else None


def _sources(dataset: Dataset) -> np.ndarray:
    if "source" not in dataset.column_names:
        return np.full(len(dataset), "", dtype=object).astype(str)
    return np.asarray(dataset["source"], dtype=object).astype(str)


def evaluate_dataset(
    detector: Detector,
    dataset: Dataset,
    decision: ThresholdDecision,
    out_dir: str | Path,
    *,
    split: str = "test",
    dataset_name: str | None = None,
    clean_scores: np.ndarray | None = None,
    robustness: bool = True,
    robustness_samples: int | None = 2000,
    gallery: bool = True,
    gallery_errors: int = 4,
    explain_method: str = "auto",
    bootstrap_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    score_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Score every row of ``dataset`` (or take ``clean_scores``) and write its report at ``decision``."""
    score_kwargs = score_kwargs or {}
    if len(dataset) == 0:
        raise ConfigError(f"the {split!r} split is empty: nothing to evaluate")
    if clean_scores is None:
        clean_scores = score_dataset(detector, dataset, desc=split, **score_kwargs)
    table = ScoreTable(dataset_labels(dataset), clean_scores, _sources(dataset))
    if robustness:
        table.perturbed_rows, table.perturbed = score_perturbations(
            detector, dataset, max_samples=robustness_samples, seed=seed, score_kwargs=score_kwargs
        )
    gallery_name = None
    if gallery:
        from hf_aidetect.inference.gallery import build_gallery

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        path = build_gallery(
            detector, dataset, table.labels, table.scores, decision.value, out / GALLERY,
            num_errors=gallery_errors, method=explain_method,
        )  # fmt: skip
        gallery_name = path.name if path is not None else None
    return build_report(
        table,
        decision,
        out_dir,
        split=split,
        dataset_name=dataset_name,
        resamples=bootstrap_resamples,
        seed=seed,
        gallery=gallery_name,
    )


def evaluate_model(
    model: Any,
    image_processor: Any,
    dataset_dict: DatasetDict | Mapping[str, Dataset],
    out_dir: str | Path,
    *,
    split: str = "test",
    dataset_name: str | None = None,
    threshold: float | None = None,
    tune_on: str | Dataset | None = None,
    tune_name: str | None = None,
    target_fpr: float | None = None,
    min_per_class: int = MIN_IMAGES_PER_CLASS,
    strict_tuning: bool = False,
    fold_into: str | Path | None = None,
    batch_size: int = 32,
    num_workers: int | None = None,
    device: str | None = None,
    progress: bool = False,
    scores: Mapping[str, np.ndarray] | None = None,
    crops: int = 1,
    **report_options: Any,
) -> dict[str, Any]:
    """Evaluate ``model`` on ``dataset_dict[split]`` and write the report into ``out_dir``; return it.

    Threshold: ``threshold`` when given; else tuned on ``tune_on`` (a split name of ``dataset_dict`` or a
    ``Dataset``; max balanced accuracy, or the highest fake recall with FPR <= ``target_fpr``; at least
    ``min_per_class`` images per class, otherwise an error when ``strict_tuning`` and the model's own
    threshold with a warning when not); else the model's own. The model is never changed unless
    ``fold_into`` names its saved folder: then a tuned / fixed threshold is folded into the classifier bias
    there and in memory, and the report describes the model as saved (threshold 0.5). Datasets may carry a
    training transform; it is ignored. ``scores``: P(fake) per row already computed for ``split`` /
    ``tune_on`` (e.g. by the Trainer), used instead of scoring those splits again when their lengths match.
    ``crops`` > 1: multi-crop scoring (mean logits of that many native-resolution windows per image).
    ``report_options``: :func:`evaluate_dataset`'s (robustness, gallery, bootstrap_resamples, seed, ...).
    """
    dataset = _select(dataset_dict, split)
    detector = Detector.from_model(model, image_processor, device=device)
    if crops != 1:
        detector = detector.with_crops(crops)
    score_kwargs = {"batch_size": batch_size, "num_workers": num_workers, "progress": progress}
    known = dict(scores or {})
    if isinstance(tune_on, str):  # a split name; a missing split means the model's own threshold
        tuning_split, tuning = tune_on, _select(dataset_dict, tune_on) if tune_on in dataset_dict else None
    else:
        tuning_split, tuning = None, tune_on
    decision = decide_threshold(
        detector,
        threshold=threshold,
        tuning=tuning,
        tuning_name=tune_name or (f"the {tuning_split} split" if tuning_split else "the tuning set"),
        tuning_scores=_given_scores(known, tuning_split, tuning),
        target_fpr=target_fpr,
        min_per_class=min_per_class,
        strict=strict_tuning,
        score_kwargs=score_kwargs,
    )
    if tuning_split == split and decision.tuned is not None:
        logger.warning("Threshold tuned on the evaluated split itself: the metrics are optimistic")
    shift = 0.0
    if fold_into is not None and decision.can_fold and len(dataset):
        decision, shift = fold_decision(detector, decision, example_batch(detector, dataset), fold_into)
    clean = _given_scores(known, split, dataset)
    return evaluate_dataset(
        detector,
        dataset,
        decision,
        out_dir,
        split=split,
        dataset_name=dataset_name,
        clean_scores=shift_scores(clean, shift) if clean is not None else None,
        score_kwargs=score_kwargs,
        **report_options,
    )
