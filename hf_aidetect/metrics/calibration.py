"""Calibration of P(fake): reliability bins, expected calibration error (ECE) and the Brier score.

A detector can rank images well (high ROC-AUC) and still give scores that are not probabilities: "P(fake) =
0.9" should mean that 9 in 10 such images are fake. The reliability of **P(fake)** (the positive class, not
the top-label confidence) is measured in ``num_bins`` equal-width bins over [0, 1]::

    ECE = sum_b (n_b / N) * |mean P(fake) in b - fraction of fakes in b|

Scores are binned as :func:`sklearn.calibration.calibration_curve` (``strategy="uniform"``) bins them, so the
bins' means equal its ``prob_pred`` / ``prob_true``. The Brier score is ``mean((P(fake) - label)^2)``.
Calibration depends on the class balance of the evaluated set: a detector calibrated on balanced data is not
calibrated on data with 1 % fakes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

DEFAULT_BINS = 15


def _arrays(labels: Sequence[int] | np.ndarray, probabilities: Sequence[float] | np.ndarray) -> tuple:
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if y.shape != p.shape:
        raise ValueError(f"got {y.size} labels but {p.size} probabilities; need one each")
    if p.size and (p.min() < 0.0 or p.max() > 1.0):
        raise ValueError("calibration needs probabilities in [0, 1]")
    return y, p


def reliability_bins(
    labels: Sequence[int] | np.ndarray,
    probabilities: Sequence[float] | np.ndarray,
    num_bins: int = DEFAULT_BINS,
) -> list[dict[str, float]]:
    """One entry per bin: edges, image count, mean P(fake) and fraction of fakes (NaN for an empty bin)."""
    y, p = _arrays(labels, probabilities)
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    bin_ids = np.searchsorted(edges[1:-1], p)  # sklearn's calibration_curve rule
    counts = np.bincount(bin_ids, minlength=num_bins)
    score_sums = np.bincount(bin_ids, weights=p, minlength=num_bins)
    fake_sums = np.bincount(bin_ids, weights=y, minlength=num_bins)
    bins = []
    for index in range(num_bins):
        count = int(counts[index])
        bins.append(
            {
                "lower": float(edges[index]),
                "upper": float(edges[index + 1]),
                "count": count,
                "mean_p_fake": float(score_sums[index] / count) if count else math.nan,
                "fraction_fake": float(fake_sums[index] / count) if count else math.nan,
            }
        )
    return bins


def expected_calibration_error(
    labels: Sequence[int] | np.ndarray,
    probabilities: Sequence[float] | np.ndarray,
    num_bins: int = DEFAULT_BINS,
) -> float:
    """ECE of P(fake) over ``num_bins`` equal-width bins (see the module doc); NaN for no images."""
    bins = reliability_bins(labels, probabilities, num_bins)
    total = sum(entry["count"] for entry in bins)
    if total == 0:
        return math.nan
    return float(
        sum(
            entry["count"] * abs(entry["mean_p_fake"] - entry["fraction_fake"])
            for entry in bins
            if entry["count"]
        )
        / total
    )


def brier_score(labels: Sequence[int] | np.ndarray, probabilities: Sequence[float] | np.ndarray) -> float:
    """Mean squared error of P(fake) against the 0/1 label; NaN for no images."""
    y, p = _arrays(labels, probabilities)
    return float(np.mean((p - y) ** 2)) if y.size else math.nan


def calibration_summary(
    labels: Sequence[int] | np.ndarray,
    probabilities: Sequence[float] | np.ndarray,
    num_bins: int = DEFAULT_BINS,
) -> dict:
    """ECE, Brier score, the bins and the number of images behind them."""
    y, p = _arrays(labels, probabilities)
    return {
        "ece": expected_calibration_error(y, p, num_bins),
        "brier": brier_score(y, p),
        "num_bins": num_bins,
        "num_samples": int(y.size),
        "bins": reliability_bins(y, p, num_bins),
    }
