"""Detection metrics (fake = positive class) through the package's own offline ``evaluate`` module.

``detection_metrics(labels, fake_scores)`` for reports; ``build_compute_metrics()`` for ``Trainer``.
The module at :data:`DETECTION_METRIC_PATH` is loaded with ``evaluate.load(path)``: no Hub access.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hf_aidetect.data.labels import FAKE, ID2LABEL

logger = logging.getLogger(__name__)

DETECTION_METRIC_PATH = str(Path(__file__).resolve().parent / "detection")
CONFUSION_KEYS = tuple(
    (true, predicted, f"cm_true_{ID2LABEL[true]}_pred_{ID2LABEL[predicted]}")
    for true in (0, 1)
    for predicted in (0, 1)
)

__all__ = [
    "CONFUSION_KEYS",
    "DETECTION_METRIC_PATH",
    "build_compute_metrics",
    "detection_metrics",
    "fake_probabilities",
    "load_detection_metric",
]


@functools.lru_cache(maxsize=1)
def load_detection_metric() -> Any:
    """The ``evaluate`` metric module, loaded once per process from the package (never from the Hub)."""
    import evaluate

    try:
        return evaluate.load(DETECTION_METRIC_PATH, keep_in_memory=True)
    except OSError as error:
        # evaluate copies the script into HF_MODULES_CACHE; on a read-only cache import it in place.
        logger.warning(
            "evaluate.load(%s) failed (%s); importing the metric directly.", DETECTION_METRIC_PATH, error
        )
        spec = importlib.util.spec_from_file_location(
            "hf_aidetect_detection_metric", Path(DETECTION_METRIC_PATH) / "detection.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.Detection(keep_in_memory=True)


def detection_metrics(
    labels: Sequence[int] | np.ndarray, fake_scores: Sequence[float] | np.ndarray, threshold: float = 0.5
) -> dict[str, Any]:
    """Accuracy, balanced accuracy, per-class / macro precision-recall-F1, ROC-AUC, AP and confusion matrix.

    ``labels``: 0 = real, 1 = fake. ``fake_scores``: P(fake) per image; fake is predicted when
    ``score >= threshold``. ROC-AUC / average precision are ``nan`` when a class is missing.
    ``confusion_matrix`` is a nested list, rows = true [real, fake], columns = predicted.
    """
    labels_array = np.asarray(labels, dtype=np.int64).reshape(-1)
    scores_array = np.asarray(fake_scores, dtype=np.float64).reshape(-1)
    if labels_array.shape != scores_array.shape:
        raise ValueError(
            f"got {labels_array.size} labels but {scores_array.size} fake scores; need one each."
        )
    return load_detection_metric().compute(
        predictions=scores_array, references=labels_array, threshold=float(threshold)
    )


def fake_probabilities(logits: np.ndarray | Sequence[Any]) -> np.ndarray:
    """Softmax P(fake) from ``[N, 2]`` logits (a tuple of model outputs: its first item is the logits)."""
    if isinstance(logits, (tuple, list)):
        logits = logits[0]
    array = np.asarray(logits, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != len(ID2LABEL):
        raise ValueError(f"expected [N, 2] real/fake logits, got shape {array.shape}.")
    shifted = array - array.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return probabilities[:, FAKE]


def _scalar_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Drop the nested confusion matrix into ``cm_true_<t>_pred_<p>`` counts; everything else is a float."""
    matrix = metrics.pop("confusion_matrix")
    flat = {key: float(value) for key, value in metrics.items()}
    for true, predicted, key in CONFUSION_KEYS:
        flat[key] = float(matrix[true][predicted])
    return flat


def build_compute_metrics(threshold: float = 0.5) -> Callable[[Any], dict[str, float]]:
    """``compute_metrics`` for ``Trainer``: ``EvalPrediction`` (logits, labels) -> scalar metrics only."""

    def compute_metrics(eval_prediction: Any) -> dict[str, float]:
        scores = fake_probabilities(eval_prediction.predictions)
        labels = eval_prediction.label_ids
        if isinstance(labels, (tuple, list)):
            labels = labels[0]
        # ROC-AUC stays NaN on a one-class split: Trainer logs it and never picks it as "best".
        return _scalar_metrics(detection_metrics(labels, scores, threshold))

    return compute_metrics
