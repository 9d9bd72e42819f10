"""Threshold selection on known scores, saving it with the model, and run-time precedence."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from hf_aidetect.errors import ConfigError
from hf_aidetect.inference.threshold import (
    MIN_IMAGES_PER_CLASS,
    choose_threshold,
    logit,
    resolve_threshold,
    save_threshold,
    sigmoid,
)

# real: 0.1 0.2 0.3 0.45 | fake: 0.4 0.6 0.7 0.9 -> two optima (BA 0.875): cut above 0.45 or below 0.4.
LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1])
SCORES = np.array([0.1, 0.2, 0.3, 0.45, 0.4, 0.6, 0.7, 0.9])


def _logit_mid(a: float, b: float) -> float:
    return sigmoid((logit(a) + logit(b)) / 2)


def test_max_balanced_accuracy_picks_logit_midpoint_closest_to_half():
    choice = choose_threshold(LABELS, SCORES)
    assert choice.method == "max_balanced_accuracy"
    assert choice.threshold == pytest.approx(_logit_mid(0.45, 0.6))
    assert choice.balanced_accuracy == pytest.approx(0.875)
    assert (choice.fpr, choice.tpr) == (0.0, 0.75)
    predicted = (choice.threshold <= SCORES).astype(int)
    assert balanced_accuracy_score(LABELS, predicted) == pytest.approx(0.875)
    # No other cut point does better.
    best = max(balanced_accuracy_score(LABELS, (t <= SCORES).astype(int)) for t in np.linspace(0, 1, 201))
    assert choice.balanced_accuracy == pytest.approx(best)


@pytest.mark.parametrize(
    ("target", "threshold", "fpr", "tpr"),
    [
        (0.0, _logit_mid(0.45, 0.6), 0.0, 0.75),
        (0.25, _logit_mid(0.3, 0.4), 0.25, 1.0),
        (1.0, _logit_mid(0.3, 0.4), 0.25, 1.0),
    ],
)
def test_target_fpr_takes_highest_recall_within_budget(target, threshold, fpr, tpr):
    choice = choose_threshold(LABELS, SCORES, target_fpr=target)
    assert choice.method == "target_fpr" and choice.target_fpr == target
    assert choice.threshold == pytest.approx(threshold)
    assert (choice.fpr, choice.tpr) == (pytest.approx(fpr), pytest.approx(tpr))
    assert choice.fpr <= target


def test_perfect_separation_and_one_class_inputs():
    choice = choose_threshold([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert 0.2 < choice.threshold < 0.8 and choice.balanced_accuracy == 1.0
    with pytest.raises(ConfigError, match="0 real and 2 fake"):
        choose_threshold([1, 1], [0.3, 0.6])
    with pytest.raises(ConfigError, match="target-fpr"):
        choose_threshold(LABELS, SCORES, target_fpr=1.5)


def test_thresholds_sit_in_logit_space_even_for_saturated_scores():
    # The case: scores crowded near 0 once gave a probability midpoint of 1.6e-07.
    labels = np.array([0] * 5 + [1] * 5)
    scores = np.array([1e-9, 2e-9, 3e-9, 4e-9, 5e-9, 1e-7, 2e-7, 3e-7, 4e-7, 5e-7])
    choice = choose_threshold(labels, scores)
    assert choice.balanced_accuracy == 1.0
    assert logit(choice.threshold) == pytest.approx((logit(5e-9) + logit(1e-7)) / 2)
    # Outside every score (everything real / everything fake): one logit beyond the extreme one.
    high = choose_threshold([0, 0, 1, 1], [0.2, 0.3, 0.1, 0.15], target_fpr=0.0)
    assert logit(high.threshold) == pytest.approx(logit(0.3) + 1.0) and high.tpr == 0.0
    everything = choose_threshold([1, 0, 1], [1e-12, 0.5, 0.9], target_fpr=1.0)
    assert logit(everything.threshold) == pytest.approx(logit(1e-12) - 1.0) and everything.fpr == 1.0
    ones = choose_threshold([0, 0, 1, 1], [0.2, 0.4, 1.0, 1.0])  # float32 softmax saturation
    assert 0.4 < ones.threshold < 1.0 and np.isfinite(logit(ones.threshold))


def test_tuning_needs_enough_images_per_class():
    labels = np.array([0] * 60 + [1] * 49)
    scores = np.linspace(0, 1, labels.size)
    with pytest.raises(ConfigError, match=f"60 real and 49 fake.*at least {MIN_IMAGES_PER_CLASS}"):
        choose_threshold(labels, scores, min_per_class=MIN_IMAGES_PER_CLASS, where="valid/")
    assert choose_threshold(np.r_[labels, 1], np.r_[scores, 1.0], min_per_class=MIN_IMAGES_PER_CLASS)


def test_resolve_threshold_precedence():
    saved = SimpleNamespace(fake_threshold=0.8)
    assert resolve_threshold(0.3, saved) == (0.3, "--threshold")
    assert resolve_threshold(None, saved) == (0.8, "saved with the model")
    assert resolve_threshold(None, SimpleNamespace()) == (0.5, "default")
    folded = SimpleNamespace(operating_point={"logit_shift": 1.2})
    assert resolve_threshold(None, folded) == (0.5, "operating point of the model")
    with pytest.raises(ConfigError, match="--threshold"):
        resolve_threshold(-0.1, saved)
    with pytest.raises(ConfigError, match=r"config\.json"):
        resolve_threshold(None, SimpleNamespace(fake_threshold="high"))


def test_save_threshold_changes_only_that_key(tiny_cnn_dir, tmp_path):
    import shutil

    from transformers import AutoConfig

    import hf_aidetect  # noqa: F401  (registers the seed CNN)

    model_dir = shutil.copytree(tiny_cnn_dir, tmp_path / "model")
    before = json.loads((model_dir / "config.json").read_text())
    save_threshold(model_dir, 0.375)
    after = json.loads((model_dir / "config.json").read_text())
    assert after.pop("fake_threshold") == 0.375 and after == before
    assert AutoConfig.from_pretrained(model_dir).fake_threshold == 0.375
    with pytest.raises(ConfigError, match=r"config\.json"):
        save_threshold(tmp_path / "nowhere", 0.5)
