"""Detection metrics equal scikit-learn's, load offline by path, and feed Trainer scalars only."""

from __future__ import annotations

import math
import socket

import evaluate
import numpy as np
import pytest
from sklearn import metrics as skm
from transformers import EvalPrediction

from hf_aidetect.metrics import (
    CONFUSION_KEYS,
    DETECTION_METRIC_PATH,
    build_compute_metrics,
    detection_metrics,
    fake_probabilities,
)

LABELS = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0])
SCORES = np.array([0.1, 0.4, 0.35, 0.8, 0.05, 0.9, 0.65, 0.3, 0.5, 0.99, 0.7, 0.55])


@pytest.mark.parametrize("threshold", [0.5, 0.6])
def test_values_equal_sklearn(threshold: float) -> None:
    result = detection_metrics(LABELS, SCORES, threshold=threshold)
    predicted = (threshold <= SCORES).astype(int)
    assert result["accuracy"] == pytest.approx(skm.accuracy_score(LABELS, predicted))
    assert result["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(LABELS, predicted))
    for name, label in (("real", 0), ("fake", 1)):
        assert result[f"precision_{name}"] == pytest.approx(
            skm.precision_score(LABELS, predicted, pos_label=label)
        )
        assert result[f"recall_{name}"] == pytest.approx(skm.recall_score(LABELS, predicted, pos_label=label))
        assert result[f"f1_{name}"] == pytest.approx(skm.f1_score(LABELS, predicted, pos_label=label))
    assert result["precision_macro"] == pytest.approx(skm.precision_score(LABELS, predicted, average="macro"))
    assert result["recall_macro"] == pytest.approx(skm.recall_score(LABELS, predicted, average="macro"))
    assert result["f1_macro"] == pytest.approx(skm.f1_score(LABELS, predicted, average="macro"))
    assert result["roc_auc"] == pytest.approx(skm.roc_auc_score(LABELS, SCORES))
    assert result["average_precision"] == pytest.approx(skm.average_precision_score(LABELS, SCORES))
    assert result["confusion_matrix"] == skm.confusion_matrix(LABELS, predicted).tolist()
    assert result["num_samples"] == len(LABELS)


def test_single_class_gives_nan_ranking_scores_not_a_crash() -> None:
    only_real = detection_metrics([0, 0, 0], [0.2, 0.7, 0.1])
    assert math.isnan(only_real["roc_auc"]) and math.isnan(only_real["average_precision"])
    assert only_real["accuracy"] == pytest.approx(2 / 3)
    assert only_real["confusion_matrix"] == [[2, 1], [0, 0]]
    only_fake = detection_metrics([1, 1], [0.9, 0.8])
    assert math.isnan(only_fake["roc_auc"]) and only_fake["average_precision"] == 1.0


def test_bad_inputs_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="one each"):
        detection_metrics([0, 1], [0.5])
    with pytest.raises(ValueError, match="NaN"):
        detection_metrics([0, 1], [0.5, float("nan")])
    with pytest.raises(ValueError, match="0 \\(real\\) or 1 \\(fake\\)"):
        detection_metrics([0, 2], [0.5, 0.5])


def test_loads_by_path_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("evaluate.load tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    metric = evaluate.load(DETECTION_METRIC_PATH, keep_in_memory=True)
    assert metric.compute(predictions=[0.2, 0.9], references=[0, 1])["accuracy"] == 1.0


def test_compute_metrics_for_trainer_is_softmax_p_fake_and_scalars_only() -> None:
    logits = np.log(np.stack([1 - SCORES, SCORES], axis=1)) + 3.0  # softmax gives back SCORES
    np.testing.assert_allclose(fake_probabilities(logits), SCORES)
    metrics = build_compute_metrics()(EvalPrediction(predictions=(logits,), label_ids=LABELS))
    assert all(isinstance(value, float) for value in metrics.values())
    assert "confusion_matrix" not in metrics
    matrix = skm.confusion_matrix(LABELS, (SCORES >= 0.5).astype(int))
    for true, predicted, key in CONFUSION_KEYS:
        assert metrics[key] == matrix[true, predicted]
    assert metrics["cm_true_fake_pred_real"] == matrix[1, 0]
    assert metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(LABELS, SCORES))


def test_read_only_modules_cache_falls_back_to_a_direct_import(monkeypatch: pytest.MonkeyPatch) -> None:
    from hf_aidetect.metrics import load_detection_metric

    def read_only(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(evaluate, "load", read_only)
    load_detection_metric.cache_clear()
    try:
        assert detection_metrics([0, 1], [0.3, 0.6])["accuracy"] == 1.0
    finally:
        load_detection_metric.cache_clear()
