"""Real-vs-fake detection metrics as an ``evaluate`` module, loaded by path so it works offline.

``evaluate.load("accuracy")`` needs the Hub; this file does not. It is copied into the ``evaluate`` modules
cache and imported on its own, so it imports only evaluate, datasets, numpy and scikit-learn.

Inputs: ``predictions`` = P(fake) per image (float in [0, 1]), ``references`` = true labels (0 = real,
1 = fake). Fake is the positive class. Output: accuracy, balanced accuracy, precision / recall / F1 per class
and macro, ROC-AUC and average precision (``nan`` when undefined, e.g. a single class), the confusion matrix
(rows = true [real, fake], columns = predicted) and the threshold used.
"""

from __future__ import annotations

import math
import warnings

import datasets
import evaluate
import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

_DESCRIPTION = __doc__
_KWARGS_DESCRIPTION = """
Args:
    predictions: P(fake) per image, floats in [0, 1].
    references: true labels, 0 = real, 1 = fake.
    threshold: predict fake when P(fake) >= threshold (default 0.5).
Returns:
    dict with accuracy, balanced_accuracy, precision_/recall_/f1_ + real|fake|macro, roc_auc,
    average_precision, confusion_matrix (nested list), threshold, num_samples.
Example:
    >>> metric = evaluate.load("hf_aidetect/metrics/detection")
    >>> metric.compute(predictions=[0.1, 0.9], references=[0, 1])["accuracy"]
    1.0
"""
CLASS_NAMES = ("real", "fake")


def _ranking_scores(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """ROC-AUC and average precision; ``nan`` where scikit-learn would fail or warn (missing class)."""
    roc_auc = float(roc_auc_score(labels, scores)) if len(np.unique(labels)) == 2 else math.nan
    average_precision = float(average_precision_score(labels, scores)) if labels.any() else math.nan
    return roc_auc, average_precision


class Detection(evaluate.Metric):
    """Binary real (0) vs fake (1) metrics from P(fake) scores."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("int64")}
            ),
            reference_urls=["https://scikit-learn.org/stable/modules/model_evaluation.html"],
        )

    def _compute(self, predictions, references, threshold: float = 0.5) -> dict:
        scores = np.asarray(predictions, dtype=np.float64)
        labels = np.asarray(references, dtype=np.int64)
        if scores.size == 0:
            raise ValueError("detection metrics need at least one prediction; got none.")
        if not np.isfinite(scores).all():
            raise ValueError("detection metrics got NaN or infinite fake scores; check the model's logits.")
        if not np.isin(labels, (0, 1)).all():
            raise ValueError(f"references must be 0 (real) or 1 (fake); got {sorted(set(labels.tolist()))}.")
        predicted = (scores >= threshold).astype(np.int64)
        with warnings.catch_warnings():
            # One-class batches make sklearn warn about ill-defined scores; they are reported as 0 / nan.
            warnings.simplefilter("ignore")
            precision, recall, f1, _ = precision_recall_fscore_support(
                labels, predicted, labels=[0, 1], zero_division=0
            )
            balanced = float(balanced_accuracy_score(labels, predicted))
        roc_auc, average_precision = _ranking_scores(labels, scores)
        result: dict = {"accuracy": float(accuracy_score(labels, predicted)), "balanced_accuracy": balanced}
        for index, name in enumerate(CLASS_NAMES):
            result[f"precision_{name}"] = float(precision[index])
            result[f"recall_{name}"] = float(recall[index])
            result[f"f1_{name}"] = float(f1[index])
        result["precision_macro"] = float(np.mean(precision))
        result["recall_macro"] = float(np.mean(recall))
        result["f1_macro"] = float(np.mean(f1))
        result["roc_auc"] = roc_auc
        result["average_precision"] = average_precision
        result["confusion_matrix"] = confusion_matrix(labels, predicted, labels=[0, 1]).tolist()
        result["threshold"] = float(threshold)
        result["num_samples"] = int(labels.size)
        return result
