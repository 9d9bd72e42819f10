"""Decision threshold on P(fake): chosen on validation scores, saved with the model, resolved at run time.

Semantics everywhere in the package: an image is labelled **fake iff fake_score >= threshold**.
Precedence at prediction time: an explicit ``--threshold`` flag, else ``fake_threshold`` saved in the
model's ``config.json``, else 0.5.
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

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5
CONFIG_KEY = "fake_threshold"


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


def choose_threshold(
    labels: Sequence[int] | np.ndarray,
    fake_scores: Sequence[float] | np.ndarray,
    *,
    target_fpr: float | None = None,
) -> ThresholdChoice:
    """Pick the threshold that maximises balanced accuracy, or the highest recall with FPR <= ``target_fpr``.

    The returned value lies halfway between the decisive score and the next lower distinct score, so it
    keeps the same decisions on these scores while leaving a margin on both sides. Among equally good
    thresholds (balanced accuracy mode) the one closest to 0.5 wins.
    """
    y = np.asarray(labels, dtype=int)
    s = np.asarray(fake_scores, dtype=float)
    if y.shape != s.shape or y.size == 0:
        raise ConfigError("choose_threshold needs equally long, non-empty label and score arrays")
    if len(np.unique(y)) < 2:
        raise ConfigError(
            "cannot choose a threshold: the validation scores contain only one class; "
            "use a validation split with both real and fake images"
        )
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
    threshold = min(values, key=lambda value: abs(value - DEFAULT_THRESHOLD))
    chosen_fpr, chosen_tpr = _rates(y, s, threshold)
    return ThresholdChoice(
        threshold=threshold,
        method=method,
        balanced_accuracy=(chosen_tpr + 1.0 - chosen_fpr) / 2.0,
        fpr=chosen_fpr,
        tpr=chosen_tpr,
        target_fpr=target_fpr,
    )


def _midpoint(thresholds: np.ndarray, index: int) -> float:
    """Halfway between curve point ``index`` and the next lower distinct score (same decisions)."""
    upper = float(thresholds[index])
    if not math.isfinite(upper):  # sklearn's first point: "nothing is fake"
        return (min(float(thresholds[1]), 1.0) + 1.0) / 2.0 if len(thresholds) > 1 else 1.0
    if index + 1 < len(thresholds):
        return (upper + float(thresholds[index + 1])) / 2.0
    return upper / 2.0  # lowest score: everything is fake; any value below it keeps that


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
    """Threshold and its origin: the flag, else ``config.fake_threshold``, else 0.5."""
    if flag is not None:
        return validate_threshold(flag, "--threshold"), "--threshold"
    saved = getattr(config, CONFIG_KEY, None) if config is not None else None
    if saved is not None:
        return validate_threshold(saved, f"config.json '{CONFIG_KEY}'"), "saved with the model"
    return DEFAULT_THRESHOLD, "default"


def save_threshold(model_dir: str | Path, threshold: float) -> Path:
    """Write ``fake_threshold`` into ``model_dir/config.json`` (only that key changes) and return the path."""
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise ConfigError(f"cannot save the threshold: {path} does not exist; is {model_dir} a model folder?")
    config = json.loads(path.read_text(encoding="utf-8"))
    config[CONFIG_KEY] = float(validate_threshold(threshold, "the evaluation"))
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    logger.info("Saved decision threshold %.4f to %s", threshold, path)
    return path
