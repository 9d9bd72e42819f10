"""Operating points of a detector: TPR at fixed FPRs, ROC-AUC and AP, with stratified bootstrap intervals.

Detector users set a false-positive budget ("at most 1 % of real photos flagged") and ask how many fakes are
caught there. :func:`operating_points` reports, for fake = positive:

* ``tpr_at_fpr``: the highest true-positive rate of any threshold whose false-positive rate is <= the budget
  (the ROC step curve, no interpolation), the score threshold that reaches it and the FPR it really has;
* ``roc_auc`` and ``average_precision`` (scikit-learn's definitions: trapezoidal ROC area, step-wise AP);
* a percentile 95 % interval for each, from a seeded **stratified** bootstrap (real and fake images are
  resampled separately, so every resample keeps the class counts of the evaluated set).

Every resample is the original sorted scores with multinomial weights, so the curves of a whole chunk of
resamples are cumulative sums of one weight matrix: no Python loop over resamples and no re-sorting.
With ``n_real`` real images the smallest non-zero FPR is ``1 / n_real``; a budget below it can only be met
at FPR 0, which the result says (``resolvable: false``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

DEFAULT_FPRS = (0.001, 0.005, 0.01, 0.05)
DEFAULT_RESAMPLES = 1000
CONFIDENCE = 0.95
_CELLS_PER_CHUNK = 20_000_000  # resamples x images per weight matrix (~160 MB of float64)


def _sorted_curve_inputs(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order by descending score; return sorted labels, sorted scores and the last index of each tie group."""
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores = scores[order]
    ends = np.r_[np.flatnonzero(np.diff(sorted_scores)), sorted_scores.size - 1]
    return labels[order], sorted_scores, ends


def _weighted_rates(
    sorted_labels: np.ndarray, ends: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """TP / FP counts and TPR / FPR after each distinct threshold, a leading (0, 0) point per resample.

    ``weights``: ``[resamples, images]`` in sorted order (1 everywhere for the point estimate).
    """
    positive = sorted_labels == 1
    tp = np.cumsum(weights * positive, axis=1)[:, ends]
    fp = np.cumsum(weights * ~positive, axis=1)[:, ends]
    zeros = np.zeros((weights.shape[0], 1))
    tp, fp = np.hstack([zeros, tp]), np.hstack([zeros, fp])
    n_pos = np.maximum(tp[:, -1:], 1e-300)
    n_neg = np.maximum(fp[:, -1:], 1e-300)
    return tp, fp, tp / n_pos, fp / n_neg


def _curve_statistics(
    sorted_labels: np.ndarray, ends: np.ndarray, weights: np.ndarray, fprs: Sequence[float]
) -> dict[str, np.ndarray]:
    """Per resample: TPR at each FPR budget, the index of the threshold reaching it, ROC-AUC and AP."""
    tp, fp, tpr, fpr = _weighted_rates(sorted_labels, ends, weights)
    out: dict[str, np.ndarray] = {}
    for budget in fprs:
        allowed = fpr <= budget + 1e-12  # column 0 (nothing called fake) is always allowed
        # TPR never decreases along the curve, so the last allowed point has the highest TPR.
        last = allowed.shape[1] - 1 - np.argmax(allowed[:, ::-1], axis=1)
        out[f"tpr@{budget}"] = tpr[np.arange(tpr.shape[0]), last]
        out[f"index@{budget}"] = last
    out["roc_auc"] = np.trapezoid(tpr, fpr, axis=1)
    called = tp + fp
    precision = np.divide(tp, called, out=np.ones_like(tp), where=called > 0)
    out["average_precision"] = np.sum(np.diff(tpr, axis=1) * precision[:, 1:], axis=1)
    return out


def _stratified_weights(sorted_labels: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap counts per image: each class is resampled with replacement to its own size."""
    weights = np.zeros((resamples, sorted_labels.size))
    for value in (0, 1):
        members = np.flatnonzero(sorted_labels == value)
        weights[:, members] = rng.multinomial(
            members.size, np.full(members.size, 1.0 / members.size), resamples
        )
    return weights


def _interval(values: np.ndarray, confidence: float) -> list[float]:
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return [float(low), float(high)]


def _nan_result(labels: np.ndarray, fprs: Sequence[float], reason: str) -> dict:
    nan = {"value": math.nan, "ci": [math.nan, math.nan]}
    return {
        "num_real": int((labels == 0).sum()),
        "num_fake": int((labels == 1).sum()),
        "tpr_at_fpr": [
            {
                "fpr": budget,
                "tpr": math.nan,
                "ci": [math.nan, math.nan],
                "threshold": math.nan,
                "achieved_fpr": math.nan,
                "resolvable": False,
            }
            for budget in fprs
        ],
        "roc_auc": dict(nan),
        "average_precision": dict(nan),
        "note": reason,
    }


def operating_points(
    labels: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    *,
    fprs: Sequence[float] = DEFAULT_FPRS,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> dict:
    """TPR at each FPR budget, ROC-AUC and AP with stratified-bootstrap intervals (see the module doc).

    ``resamples=0`` skips the bootstrap (intervals are NaN). Needs both classes; otherwise every value is
    NaN and ``note`` says why.
    """
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise ValueError(f"got {y.size} labels but {s.size} scores; need one each")
    if (y == 0).sum() == 0 or (y == 1).sum() == 0:
        return _nan_result(y, fprs, "operating points need real and fake images")
    sorted_labels, sorted_scores, ends = _sorted_curve_inputs(y, s)
    point = _curve_statistics(sorted_labels, ends, np.ones((1, y.size)), fprs)
    draws: dict[str, list[np.ndarray]] = {key: [] for key in point if not key.startswith("index@")}
    rng = np.random.default_rng(seed)
    chunk = max(1, _CELLS_PER_CHUNK // y.size)
    for start in range(0, resamples, chunk):
        weights = _stratified_weights(sorted_labels, min(chunk, resamples - start), rng)
        for key, values in _curve_statistics(sorted_labels, ends, weights, fprs).items():
            if key in draws:
                draws[key].append(values)
    n_real = int((y == 0).sum())

    def summary(key: str) -> dict:
        value = float(point[key][0])
        ci = _interval(np.concatenate(draws[key]), confidence) if resamples else [math.nan, math.nan]
        return {"value": value, "ci": ci}

    rows = []
    for budget in fprs:
        index = int(point[f"index@{budget}"][0])
        # Curve point k > 0 calls fake every image down to the k-th distinct score (inclusive).
        threshold = float(sorted_scores[ends[index - 1]]) if index > 0 else math.inf
        achieved = float(((s >= threshold) & (y == 0)).sum() / n_real)
        entry = summary(f"tpr@{budget}")
        rows.append(
            {"fpr": budget, "tpr": entry["value"], "ci": entry["ci"], "threshold": threshold,
             "achieved_fpr": achieved, "resolvable": n_real * budget >= 1.0}
        )  # fmt: skip
    return {
        "num_real": n_real,
        "num_fake": int((y == 1).sum()),
        "tpr_at_fpr": rows,
        "roc_auc": summary("roc_auc"),
        "average_precision": summary("average_precision"),
        "bootstrap": {
            "resamples": int(resamples),
            "seed": int(seed),
            "confidence": confidence,
            "method": "stratified (per class) percentile bootstrap",
        },
    }
