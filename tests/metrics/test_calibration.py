"""ECE (15 bins), Brier score and reliability bins of P(fake), checked against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from hf_aidetect.metrics.calibration import (
    brier_score,
    calibration_summary,
    expected_calibration_error,
    reliability_bins,
)


def test_bins_equal_sklearn_calibration_curve_and_ece_follows():
    rng = np.random.default_rng(0)
    probabilities = np.r_[rng.random(500), [0.0, 1.0, 1 / 15, 2 / 15]]  # edges go where sklearn puts them
    labels = (rng.random(probabilities.size) < probabilities**2).astype(int)
    prob_true, prob_pred = calibration_curve(labels, probabilities, n_bins=15, strategy="uniform")
    bins = [entry for entry in reliability_bins(labels, probabilities) if entry["count"]]
    assert [entry["fraction_fake"] for entry in bins] == pytest.approx(prob_true)
    assert [entry["mean_p_fake"] for entry in bins] == pytest.approx(prob_pred)
    counts = np.array([entry["count"] for entry in bins])
    assert counts.sum() == probabilities.size
    expected = float(np.sum(counts / counts.sum() * np.abs(prob_true - prob_pred)))
    assert expected_calibration_error(labels, probabilities) == pytest.approx(expected)
    assert brier_score(labels, probabilities) == pytest.approx(brier_score_loss(labels, probabilities))


def test_perfectly_calibrated_and_overconfident_scores():
    # In every bin the fraction of fakes equals the score: ECE 0.
    probabilities = np.repeat([0.1, 0.5, 0.9], 10)
    labels = np.r_[[1] + [0] * 9, [1] * 5 + [0] * 5, [1] * 9 + [0]]
    assert expected_calibration_error(labels, probabilities) == pytest.approx(0.0)
    # Always 0.99 on a balanced set: half the images are wrong by 0.99, the other half by 0.01.
    summary = calibration_summary([0, 1] * 10, [0.99] * 20)
    assert summary["ece"] == pytest.approx(0.49) and summary["num_bins"] == 15
    assert summary["num_samples"] == 20 and sum(b["count"] for b in summary["bins"]) == 20


def test_rejects_scores_outside_the_unit_interval():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        expected_calibration_error([0, 1], [0.2, 1.2])
