"""Decision threshold on P(fake): chosen on validation scores, resolved at run time.

Semantics everywhere in the package: an image is labelled **fake iff fake_score >= threshold**. A tuned
threshold is folded into the model's classifier bias (:mod:`hf_aidetect.inference.operating_point`), so a
saved model's own threshold is 0.5, the top label of ``pipeline("image-classification")``.
Precedence at prediction time: an explicit ``--threshold`` flag, else a ``fake_threshold`` left in
``config.json`` by an older hf_aidetect (which ``pipeline`` ignores: a warning says so), else 0.5.

Thresholds are placed in **logit space**: halfway (in log-odds) between the decisive score and the next
one, and one logit unit beyond the extreme scores, never at a probability midpoint such as 1e-7.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_curve

from hf_aidetect.errors import ConfigError
from hf_aidetect.files import atomic_write_json
from hf_aidetect.files.layout import CONFIG

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5
CONFIG_KEY = "fake_threshold"
# Fewest validation images per class a threshold may be tuned on: below it, one image moves the cut.
MIN_IMAGES_PER_CLASS = 50
_EXTREME_MARGIN = 1.0  # logits beyond the highest / lowest score when the cut lies outside all scores
_EPS = 1e-15


@dataclass
class ThresholdChoice:
    """A chosen threshold and how it does on the scores it was chosen on."""

    threshold: float
    method: str
    balanced_accuracy: float
    fpr: float
    tpr: float
    target_fpr: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _rates(labels: np.ndarray, scores: np.ndarray, threshold: float) -> tuple[float, float]:
    predicted = scores >= threshold
    positives, negatives = labels == 1, labels == 0
    tpr = float(predicted[positives].mean()) if positives.any() else float("nan")
    fpr = float(predicted[negatives].mean()) if negatives.any() else float("nan")
    return fpr, tpr


def check_tuning_counts(labels: Sequence[int] | np.ndarray, min_per_class: int, where: str) -> None:
    """Raise a :class:`ConfigError` naming ``where`` when a class has fewer than ``min_per_class`` images."""
    y = np.asarray(labels, dtype=int)
    n_real, n_fake = int((y == 0).sum()), int((y == 1).sum())
    needed = max(min_per_class, 1)
    if min(n_real, n_fake) < needed:
        raise ConfigError(
            f"cannot tune a threshold on {where}: it has {n_real} real and {n_fake} fake images, and a "
            f"threshold needs at least {needed} of each; use a larger validation set (--tune-on DATA) or "
            "keep the model's own threshold"
        )


def choose_threshold(
    labels: Sequence[int] | np.ndarray,
    fake_scores: Sequence[float] | np.ndarray,
    *,
    target_fpr: float | None = None,
    min_per_class: int = 0,
    where: str = "the validation split",
) -> ThresholdChoice:
    """Pick the threshold that maximises balanced accuracy, or the highest recall with FPR <= ``target_fpr``.

    The returned value lies halfway, in logit space, between the decisive score and the next lower
    distinct score, so it keeps the same decisions on these scores while leaving a margin on both sides.
    Among equally good thresholds (balanced accuracy mode) the one closest to 0.5 (logit 0) wins. Fewer
    than ``min_per_class`` images of either class raise a :class:`ConfigError` naming ``where``.
    """
    y = np.asarray(labels, dtype=int)
    s = np.asarray(fake_scores, dtype=float)
    if y.shape != s.shape or y.size == 0:
        raise ConfigError("choose_threshold needs equally long, non-empty label and score arrays")
    check_tuning_counts(y, min_per_class, where)
    if target_fpr is not None and not 0.0 <= target_fpr <= 1.0:
        raise ConfigError(f"--target-fpr must be within [0, 1], got {target_fpr}")
    fpr, tpr, thresholds = roc_curve(y, s, drop_intermediate=False)
    if target_fpr is None:
        score = (tpr + 1.0 - fpr) / 2.0
        candidates = np.flatnonzero(score >= score.max() - 1e-12)
        method = "max_balanced_accuracy"
    else:
        # Highest tpr within the FPR budget; among those, the first point on the curve (lowest fpr).
        allowed = np.flatnonzero(fpr <= target_fpr + 1e-12)
        candidates = np.array([allowed[np.argmax(tpr[allowed])]])
        method = "target_fpr"
    values = [_midpoint(thresholds, index) for index in candidates]
    threshold = min(values, key=lambda value: abs(logit(value)))
    chosen_fpr, chosen_tpr = _rates(y, s, threshold)
    return ThresholdChoice(
        threshold=threshold,
        method=method,
        balanced_accuracy=(chosen_tpr + 1.0 - chosen_fpr) / 2.0,
        fpr=chosen_fpr,
        tpr=chosen_tpr,
        target_fpr=target_fpr,
    )


def logit(probability: float | np.ndarray) -> float | np.ndarray:
    """log(p / (1 - p)), with p clipped to [1e-15, 1 - 1e-15] so saturated scores stay finite."""
    p = np.clip(probability, _EPS, 1.0 - _EPS)
    value = np.log(p) - np.log1p(-p)
    return float(value) if np.ndim(value) == 0 else value


def sigmoid(value: float | np.ndarray) -> float | np.ndarray:
    """The inverse of :func:`logit`."""
    result = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(value, dtype=np.float64)))
    return float(result) if np.ndim(result) == 0 else result


def _midpoint(thresholds: np.ndarray, index: int) -> float:
    """Halfway in logit space between curve point ``index`` and the next lower distinct score."""
    upper = float(thresholds[index])
    if not math.isfinite(upper):  # sklearn's first point: "nothing is fake"
        highest = float(thresholds[1]) if len(thresholds) > 1 else 1.0 - _EPS
        return sigmoid(logit(highest) + _EXTREME_MARGIN)
    if index + 1 < len(thresholds):
        return sigmoid((logit(upper) + logit(float(thresholds[index + 1]))) / 2.0)
    return sigmoid(logit(upper) - _EXTREME_MARGIN)  # lowest score: everything is fake


def validate_threshold(value: float, origin: str) -> float:
    """Return ``value`` as float, or raise a :class:`ConfigError` naming where it came from."""
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"threshold from {origin} is not a number: {value!r}") from None
    if not 0.0 <= threshold <= 1.0 or math.isnan(threshold):
        raise ConfigError(f"threshold from {origin} must be within [0, 1], got {threshold}")
    return threshold


def resolve_threshold(flag: float | None, config: object | None) -> tuple[float, str]:
    """Threshold and its origin: the flag, else a legacy ``config.fake_threshold``, else 0.5.

    A model whose tuned threshold is folded into its weights (``config.operating_point``) answers 0.5 with
    the origin "operating point of the model".
    """
    if flag is not None:
        return validate_threshold(flag, "--threshold"), "--threshold"
    saved = getattr(config, CONFIG_KEY, None) if config is not None else None
    if saved is not None:
        value = validate_threshold(saved, f"config.json '{CONFIG_KEY}'")
        if value != DEFAULT_THRESHOLD:
            logger.warning(
                "config.json has fake_threshold %.4f from an older hf_aidetect; pipeline() ignores it and "
                "uses 0.5. Fold it into the model with `hf-aidetect evaluate MODEL DATA --threshold %g "
                "--save-threshold` so every tool uses one rule.",
                value,
                value,
            )
        return value, "saved with the model"
    if getattr(config, "operating_point", None):
        return DEFAULT_THRESHOLD, "operating point of the model"
    return DEFAULT_THRESHOLD, "default"


def save_threshold(model_dir: str | Path, threshold: float) -> Path:
    """Write ``fake_threshold`` into ``model_dir/config.json`` (only that key changes) and return the path."""
    path = Path(model_dir) / CONFIG
    if not path.is_file():
        raise ConfigError(f"cannot save the threshold: {path} does not exist; is {model_dir} a model folder?")
    config = json.loads(path.read_text(encoding="utf-8"))
    config[CONFIG_KEY] = float(validate_threshold(threshold, "the evaluation"))
    atomic_write_json(path, config)  # a reader (or a crash) sees the old config.json or the new one
    logger.info("Saved decision threshold %.4f to %s", threshold, path)
    return path
