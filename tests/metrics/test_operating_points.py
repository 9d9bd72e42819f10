"""TPR at fixed FPR, ROC-AUC and AP with stratified bootstrap intervals: equal to scikit-learn's."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from hf_aidetect.metrics.operating_points import (
    DEFAULT_FPRS,
    _curve_statistics,
    _sorted_curve_inputs,
    operating_points,
)


def _data(n: int, seed: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    scores = rng.random(n) * 0.7 + 0.3 * labels
    return labels, np.round(scores, 2) if ties else scores


@pytest.mark.parametrize(("n", "seed", "ties"), [(40, 0, True), (500, 1, False), (3000, 2, True)])
def test_point_estimates_equal_sklearn(n, seed, ties):
    labels, scores = _data(n, seed, ties)
    result = operating_points(labels, scores, resamples=0)
    assert result["roc_auc"]["value"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert result["average_precision"]["value"] == pytest.approx(
        average_precision_score(labels, scores), abs=1e-12
    )
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    for row in result["tpr_at_fpr"]:
        assert row["tpr"] == pytest.approx(tpr[fpr <= row["fpr"]].max())
        # The reported threshold reaches that TPR with an FPR inside the budget.
        called = scores >= row["threshold"]
        assert called[labels == 1].mean() == pytest.approx(row["tpr"])
        assert (
            called[labels == 0].mean() == pytest.approx(row["achieved_fpr"])
            and row["achieved_fpr"] <= row["fpr"]
        )
    assert result["num_real"] == int((labels == 0).sum()) and result["num_fake"] == int((labels == 1).sum())


def test_one_weighted_resample_equals_sklearn_on_the_materialised_resample():
    labels, scores = _data(300, 3, ties=True)
    sorted_labels, _, ends = _sorted_curve_inputs(labels, scores)
    rng = np.random.default_rng(0)
    rows = rng.integers(0, labels.size, labels.size)
    weights = np.bincount(rows, minlength=labels.size).astype(float)[np.argsort(-scores, kind="mergesort")]
    stats = _curve_statistics(sorted_labels, ends, weights[None, :], (0.01, 0.1))
    assert stats["roc_auc"][0] == pytest.approx(roc_auc_score(labels[rows], scores[rows]), abs=1e-12)
    assert stats["average_precision"][0] == pytest.approx(
        average_precision_score(labels[rows], scores[rows]), abs=1e-12
    )
    fpr, tpr, _ = roc_curve(labels[rows], scores[rows], drop_intermediate=False)
    assert stats["tpr@0.1"][0] == pytest.approx(tpr[fpr <= 0.1].max())


def test_bootstrap_intervals_are_seeded_stratified_and_cover_the_estimate():
    labels, scores = _data(400, 4, ties=False)
    first = operating_points(labels, scores, resamples=300, seed=7)
    again = operating_points(labels, scores, resamples=300, seed=7)
    other = operating_points(labels, scores, resamples=300, seed=8)
    assert first == again and first["roc_auc"]["ci"] != other["roc_auc"]["ci"]
    for entry in (first["roc_auc"], first["average_precision"], *first["tpr_at_fpr"][2:]):
        low, high = entry["ci"]
        value = entry.get("value", entry.get("tpr"))
        assert low <= value <= high and high - low > 0
    method = "stratified (per class) percentile bootstrap"
    assert first["bootstrap"] == {"resamples": 300, "seed": 7, "confidence": 0.95, "method": method}
    # Stratified: an interval from the loop over explicit per-class resamples matches closely.
    rng = np.random.default_rng(0)
    real, fake = np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)
    aucs = []
    for _ in range(300):
        rows = np.r_[rng.choice(real, real.size), rng.choice(fake, fake.size)]
        aucs.append(roc_auc_score(labels[rows], scores[rows]))
    assert np.quantile(aucs, [0.025, 0.975]) == pytest.approx(first["roc_auc"]["ci"], abs=0.02)


def test_budgets_below_one_real_image_are_marked_unresolvable():
    labels, scores = _data(120, 5, ties=False)  # about 60 real images: 1 % FPR is below 1 / 60
    rows = {row["fpr"]: row for row in operating_points(labels, scores, resamples=0)["tpr_at_fpr"]}
    assert [rows[f]["resolvable"] for f in DEFAULT_FPRS] == [False, False, False, True]
    assert rows[0.001]["achieved_fpr"] == 0.0


def test_one_class_gives_nan_with_a_note():
    result = operating_points([1, 1, 1], [0.2, 0.5, 0.9])
    assert math.isnan(result["roc_auc"]["value"]) and "real and fake" in result["note"]
    assert all(math.isnan(row["tpr"]) for row in result["tpr_at_fpr"])
