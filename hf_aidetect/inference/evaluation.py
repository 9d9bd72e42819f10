"""The evaluation report: metrics, a tuned threshold, plots, per-source metrics, robustness and a gallery.

:func:`evaluate_model` is the one entry point, used by ``hf-aidetect evaluate`` and at the end of a
training run (which writes into ``OUTPUT_DIR/evaluation/``). Files written to ``out_dir``::

    metrics.json          everything below as JSON (NaN -> null)
    report.md             the same as markdown, for people and the model card
    confusion_matrix.png  roc_curve.png  pr_curve.png  score_histogram.png
    robustness.md / robustness.json   metrics under JPEG / downscale / blur perturbations
    gallery.png           explanation heatmaps: most confident real / fake and the worst errors

At the end of training (after ``trainer.save_model()`` wrote ``OUTPUT_DIR/config.json``)::

    report = evaluate_model(trainer.model, processor, splits, OUTPUT_DIR / "evaluation",
                            save_threshold_to=OUTPUT_DIR)
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
from hf_aidetect.inference.loading import Detector
from hf_aidetect.inference.report import write_report_markdown
from hf_aidetect.inference.robustness import PERTURBATIONS, json_safe, robustness_rows, write_robustness
from hf_aidetect.inference.scoring import dataset_labels, score_dataset
from hf_aidetect.inference.threshold import choose_threshold, resolve_threshold, save_threshold
from hf_aidetect.metrics import detection_metrics

logger = logging.getLogger(__name__)

PLOT_FILES = {
    "confusion_matrix": "confusion_matrix.png",
    "roc_curve": "roc_curve.png",
    "pr_curve": "pr_curve.png",
    "score_histogram": "score_histogram.png",
}


def _metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    with warnings.catch_warnings():  # sklearn warns on one-class subsets; the metric is NaN then
        warnings.simplefilter("ignore")
        return detection_metrics(labels, scores, threshold=threshold)


def per_source_metrics(
    labels: np.ndarray, scores: np.ndarray, sources: np.ndarray, threshold: float
) -> list[dict[str, Any]]:
    """Accuracy and average precision per source (generator / sub-folder).

    Accuracy is on the source's own images. AP needs both classes, so a fake-only source (a generator)
    is scored against all real images of the split, and a real-only source against all fake images
    (``ap_basis`` says which).
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
        rows.append(
            {
                "source": source or "(none)",
                "num_samples": int(own.sum()),
                "num_real": int((labels[own] == 0).sum()),
                "num_fake": int((labels[own] == 1).sum()),
                "accuracy": float(own_metrics["accuracy"]),
                "average_precision": float(basis_metrics["average_precision"]),
                "ap_basis": basis_name,
            }
        )
    return rows


def _tune_threshold(
    detector: Detector,
    validation: Dataset | None,
    *,
    threshold: float | None,
    target_fpr: float | None,
    score_kwargs: dict[str, Any],
    scores: np.ndarray | None = None,
) -> dict[str, Any]:
    """The decision threshold and where it came from (fixed, tuned on validation, saved, or default)."""
    if threshold is not None:
        value, _ = resolve_threshold(threshold, None)
        return {"value": value, "source": "fixed (--threshold)"}
    reason = "no validation split"
    if validation is not None and len(validation):
        labels = dataset_labels(validation)
        if len(set(labels.tolist())) == 2:
            if scores is None:
                scores = score_dataset(detector, validation, desc="validation", **score_kwargs)
            choice = choose_threshold(labels, scores, target_fpr=target_fpr)
            return {
                "value": choice.threshold,
                "source": "tuned on validation",
                "validation": choice.to_dict(),
            }
        reason = "the validation split has one class only"
    value, origin = resolve_threshold(None, detector.config)
    logger.warning("Threshold not tuned (%s): using %.4f (%s)", reason, value, origin)
    return {"value": value, "source": f"{origin} (not tuned: {reason})"}


def write_plots(labels: np.ndarray, scores: np.ndarray, matrix: list, threshold: float, out: Path) -> dict:
    """The four report figures into ``out``; ROC / PR are skipped when only one class is present."""
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
    return {name: path.name for name, path in written.items()}


def _robustness(
    detector: Detector,
    dataset: Dataset,
    labels: np.ndarray,
    clean_scores: np.ndarray,
    threshold: float,
    out: Path,
    *,
    max_samples: int | None,
    seed: int,
    score_kwargs: dict[str, Any],
) -> dict[str, Any]:
    """Metrics with each perturbation applied on (a seeded random subset of at most ``max_samples``)."""
    indices = np.arange(len(dataset))
    if max_samples is not None and len(dataset) > max_samples:
        indices = np.sort(np.random.default_rng(seed).choice(len(dataset), max_samples, replace=False))
    subset = dataset.select(indices.tolist())
    results = {"clean": _metrics(labels[indices], clean_scores[indices], threshold)}
    for name, perturbation in PERTURBATIONS.items():
        scores = score_dataset(detector, subset, perturbation=perturbation, desc=name, **score_kwargs)
        results[name] = _metrics(labels[indices], scores, threshold)
    rows = robustness_rows(results)
    write_robustness(rows, out, threshold, len(indices))
    return {"num_samples": len(indices), "rows": rows, "files": ["robustness.md", "robustness.json"]}


def _splits(dataset_dict: DatasetDict | dict[str, Dataset], split: str) -> tuple[Dataset, Dataset | None]:
    """The evaluated split and the validation split, without any training transform attached."""
    if split not in dataset_dict:
        raise ConfigError(f"split {split!r} not found; the data has {', '.join(dataset_dict)}")
    # Drop any transform attached for training (e.g. the Trainer's splits): rows must give images.
    dataset = dataset_dict[split].with_format(None)
    if len(dataset) == 0:
        raise ConfigError(f"the {split!r} split is empty: nothing to evaluate")
    validation = dataset_dict.get("validation")
    return dataset, validation.with_format(None) if validation is not None else None


def _given_scores(known: Mapping[str, np.ndarray], split: str, dataset: Dataset | None) -> np.ndarray | None:
    """``known[split]`` as float64 when it has one score per row of ``dataset``, else None."""
    given = known.get(split)
    if given is None or dataset is None:
        return None
    given = np.asarray(given, dtype=np.float64)
    return given if given.shape == (len(dataset),) else None


def _apply_threshold(model: Any, info: dict[str, Any], split: str, save_to: str | Path | None) -> float:
    """Set a tuned / fixed threshold on the model config (and save it to ``save_to``); return it."""
    value = float(info["value"])
    if split == "validation" and info["source"] == "tuned on validation":
        logger.warning("Threshold tuned on the evaluated split itself: the metrics are optimistic")
    if info["source"] in ("tuned on validation", "fixed (--threshold)"):
        model.config.fake_threshold = value
        if save_to is not None:
            info["saved_to"] = str(save_threshold(save_to, value))
    return value


def _sources(dataset: Dataset) -> np.ndarray | None:
    """The ``source`` column as strings when it has more than one distinct value, else ``None``."""
    if "source" not in dataset.column_names:
        return None
    sources = np.asarray(dataset["source"], dtype=object).astype(str)
    return sources if len(set(sources.tolist())) > 1 else None


def evaluate_model(
    model: Any,
    image_processor: Any,
    dataset_dict: DatasetDict | dict[str, Dataset],
    out_dir: str | Path,
    *,
    split: str = "test",
    threshold: float | None = None,
    target_fpr: float | None = None,
    save_threshold_to: str | Path | None = None,
    robustness: bool = True,
    robustness_samples: int | None = 2000,
    gallery: bool = True,
    gallery_errors: int = 4,
    explain_method: str = "auto",
    batch_size: int = 32,
    num_workers: int | None = None,
    device: str | None = None,
    progress: bool = False,
    seed: int = 0,
    scores: Mapping[str, np.ndarray] | None = None,
    crops: int = 1,
) -> dict[str, Any]:
    """Evaluate ``model`` on ``dataset_dict[split]`` and write the report into ``out_dir``; return it.

    The threshold is ``threshold`` when given, else tuned on the ``validation`` split (max balanced
    accuracy, or the highest fake recall with FPR <= ``target_fpr``), else the saved / default one.
    A tuned or fixed threshold is set on ``model.config.fake_threshold`` (so a later ``save_pretrained``
    keeps it) and written to ``save_threshold_to/config.json`` when that model folder is given (a
    fallback to the saved / default value writes nothing). Robustness uses a
    seeded subset of at most ``robustness_samples`` images (``None``: all). Datasets may carry a
    training transform; it is ignored (the model's eval preprocessing is applied). ``scores``: P(fake)
    per row already computed for ``split`` / ``"validation"`` (e.g. by the Trainer), used instead of
    scoring those splits again when their lengths match. ``crops`` > 1: multi-crop scoring (mean logits of
    that many native-resolution windows per image).
    """
    dataset, validation = _splits(dataset_dict, split)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    detector = Detector.from_model(model, image_processor, device=device)
    if crops != 1:
        detector = detector.with_crops(crops)
    score_kwargs = {"batch_size": batch_size, "num_workers": num_workers, "progress": progress}
    labels = dataset_labels(dataset)
    known = dict(scores or {})
    scores = _given_scores(known, split, dataset)
    if scores is None:
        scores = score_dataset(detector, dataset, desc=split, **score_kwargs)
    info = _tune_threshold(
        detector,
        validation,
        threshold=threshold,
        target_fpr=target_fpr,
        score_kwargs=score_kwargs,
        scores=_given_scores(known, "validation", validation),
    )
    value = _apply_threshold(model, info, split, save_threshold_to)
    metrics = _metrics(labels, scores, value)
    report: dict[str, Any] = {
        "split": split,
        "num_samples": len(dataset),
        "threshold": info,
        "metrics": metrics,
        "metrics_at_0.5": _metrics(labels, scores, 0.5),
        "plots": write_plots(labels, scores, metrics["confusion_matrix"], value, out),
    }
    sources = _sources(dataset)
    if sources is not None:
        report["per_source"] = per_source_metrics(labels, scores, sources, value)
    if robustness:
        report["robustness"] = _robustness(
            detector, dataset, labels, scores, value, out, max_samples=robustness_samples, seed=seed,
            score_kwargs=score_kwargs,
        )  # fmt: skip
    if gallery:
        from hf_aidetect.inference.gallery import build_gallery

        path = build_gallery(
            detector, dataset, labels, scores, value, out / "gallery.png", num_errors=gallery_errors,
            method=explain_method,
        )  # fmt: skip
        report["gallery"] = path.name if path is not None else None
    (out / "metrics.json").write_text(json.dumps(json_safe(report), indent=2) + "\n", encoding="utf-8")
    write_report_markdown(report, out / "report.md")
    logger.info("Evaluation report written to %s", out)
    return report
