"""The evaluation report: metrics equal scikit-learn's, one operating point, operating points, calibration."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from datasets import Image as ImageFeature
from PIL import Image
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

from hf_aidetect.errors import ConfigError
from hf_aidetect.inference import evaluation, operating_point
from hf_aidetect.inference.gallery import select_gallery
from hf_aidetect.inference.loading import load_detector
from hf_aidetect.inference.score_table import ScoreTable
from hf_aidetect.inference.scoring import score_dataset
from hf_aidetect.inference.threshold import choose_threshold, logit
from tests.publishing.conftest import folder_digest
from tests.utils import write_rgb_jpeg

TEST_LABELS = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
TEST_SCORES = np.array([0.05, 0.2, 0.35, 0.5, 0.62, 0.1, 0.3, 0.55, 0.7, 0.8, 0.95, 0.45])
TEST_SOURCES = ["camera"] * 6 + ["gan", "gan", "gan", "diffusion", "diffusion", "diffusion"]
VAL_LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1])
VAL_SCORES = np.array([0.1, 0.3, 0.4, 0.6, 0.35, 0.65, 0.7, 0.9])


def _split(folder, name: str, labels: np.ndarray, sources: list[str]) -> Dataset:
    paths = [str(write_rgb_jpeg(folder / name / f"{i}.jpg", (40, 36), seed=i)) for i in range(len(labels))]
    features = Features(
        {"image": ImageFeature(), "label": ClassLabel(names=["real", "fake"]), "source": Value("string")}
    )
    return Dataset.from_dict({"image": paths, "label": labels.tolist(), "source": sources}, features=features)


@pytest.fixture
def dataset_dict(tmp_path) -> DatasetDict:
    """Splits as the Trainer holds them: a training transform attached, which evaluation must ignore."""
    splits = {
        "train": _split(tmp_path, "train", VAL_LABELS, [""] * 8),
        "validation": _split(tmp_path, "validation", VAL_LABELS, [""] * 8),
        "test": _split(tmp_path, "test", TEST_LABELS, TEST_SOURCES),
    }
    return DatasetDict({k: v.with_transform(lambda batch: {"x": batch["label"]}) for k, v in splits.items()})


@pytest.fixture
def fixed_scores(monkeypatch):
    """The model's scores replaced by known ones (per split, recognised by size)."""

    def fake_score_dataset(detector, dataset, **kwargs):
        return {12: TEST_SCORES, 8: VAL_SCORES}[len(dataset)].copy()

    monkeypatch.setattr(evaluation, "score_dataset", fake_score_dataset)
    monkeypatch.setattr(operating_point, "score_dataset", fake_score_dataset)


def _assert_png(path, min_size=(300, 200)):
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width > min_size[0] and image.height > min_size[1]


def test_report_matches_sklearn_at_the_models_own_threshold(
    tiny_cnn_dir, dataset_dict, fixed_scores, tmp_path
):
    model_dir = shutil.copytree(tiny_cnn_dir, tmp_path / "model")
    before = folder_digest(model_dir)
    detector = load_detector(model_dir)
    out = tmp_path / "report"
    report = evaluation.evaluate_model(
        detector.model, detector.image_processor, dataset_dict, out, robustness_samples=None
    )
    assert report["threshold"] == {"value": 0.5, "source": "default"}  # no tuning unless asked
    predicted = (TEST_SCORES >= 0.5).astype(int)
    metrics = report["metrics"]
    assert metrics["accuracy"] == pytest.approx(accuracy_score(TEST_LABELS, predicted))
    assert metrics["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(TEST_LABELS, predicted))
    precision, recall, f1, _ = precision_recall_fscore_support(
        TEST_LABELS, predicted, labels=[0, 1], zero_division=0
    )
    for index, name in enumerate(("real", "fake")):
        assert metrics[f"precision_{name}"] == pytest.approx(precision[index])
        assert metrics[f"recall_{name}"] == pytest.approx(recall[index])
        assert metrics[f"f1_{name}"] == pytest.approx(f1[index])
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(TEST_LABELS, TEST_SCORES))
    assert metrics["average_precision"] == pytest.approx(average_precision_score(TEST_LABELS, TEST_SCORES))
    assert metrics["confusion_matrix"] == confusion_matrix(TEST_LABELS, predicted).tolist()
    assert (report["num_real"], report["num_fake"]) == (6, 6)
    points = report["operating_points"]
    assert points["roc_auc"]["value"] == pytest.approx(metrics["roc_auc"])
    assert points["roc_auc"]["ci"][0] <= points["roc_auc"]["value"] <= points["roc_auc"]["ci"][1]
    assert [row["fpr"] for row in points["tpr_at_fpr"]] == [0.001, 0.005, 0.01, 0.05]
    assert report["calibration"]["num_bins"] == 15 and report["calibration"]["num_samples"] == 12

    # Per source: accuracy on the source's images, AP / TPR of a generator against all real images.
    per_source = {row["source"]: row for row in report["per_source"]}
    assert set(per_source) == {"camera", "gan", "diffusion"}
    gan = np.array([s in ("gan", "camera") for s in TEST_SOURCES])
    own = np.array([s == "gan" for s in TEST_SOURCES])
    assert per_source["gan"]["accuracy"] == pytest.approx(accuracy_score(TEST_LABELS[own], predicted[own]))
    assert per_source["gan"]["average_precision"] == pytest.approx(
        average_precision_score(TEST_LABELS[gan], TEST_SCORES[gan])
    )
    assert per_source["diffusion"]["tpr_at_1pct_fpr"] == pytest.approx(2 / 3)  # 0.8, 0.95 above every real
    assert (
        per_source["gan"]["ap_basis"] == "vs all real" and per_source["camera"]["ap_basis"] == "vs all fake"
    )

    # Files: strict JSON, plots, robustness table (clean + 5 rows), gallery, scores, markdown report.
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["metrics"]["accuracy"] == pytest.approx(metrics["accuracy"])
    for name in evaluation.PLOT_FILES:
        _assert_png(out / f"{name}.png")
    _assert_png(out / "gallery.png", (600, 300))
    assert saved["robustness"]["rows"][0]["perturbation"] == "clean"
    assert len(saved["robustness"]["rows"]) == 6 and (out / "robustness.md").is_file()
    table = ScoreTable.read_csv(out / "scores.csv")
    assert table.scores.tolist() == TEST_SCORES.tolist() and set(table.perturbed) == {
        "jpeg_q95", "jpeg_q75", "jpeg_q50", "downscale_x0.5", "blur_sigma1"
    }  # fmt: skip
    markdown = (out / "report.md").read_text()
    for fragment in (
        "## Metrics", "## Per source", "## Robustness", "## Operating points", "TPR at 1 % FPR (*)",
        "## Calibration", "](reliability_diagram.png)", "](gallery.png)", "12 images: 6 real, 6 fake",
    ):  # fmt: skip
        assert fragment in markdown
    assert folder_digest(model_dir) == before  # evaluating never writes into the model folder


def test_tuned_and_fixed_thresholds_leave_the_model_alone(tiny_cnn_dir, dataset_dict, fixed_scores, tmp_path):
    detector = load_detector(tiny_cnn_dir)
    kwargs = {"robustness": False, "gallery": False, "min_per_class": 4}
    tuned = evaluation.evaluate_model(
        detector.model, detector.image_processor, dataset_dict, tmp_path / "t", tune_on="validation", **kwargs
    )
    threshold = choose_threshold(VAL_LABELS, VAL_SCORES).threshold
    assert tuned["threshold"]["value"] == pytest.approx(threshold)
    assert tuned["threshold"]["source"] == "tuned on the validation split"
    assert tuned["threshold"]["validation"]["num_real"] == 4
    assert (
        tuned["metrics"]["confusion_matrix"]
        == confusion_matrix(TEST_LABELS, threshold <= TEST_SCORES).tolist()
    )
    assert not hasattr(detector.model.config, "operating_point")
    assert not hasattr(detector.model.config, "fake_threshold")

    fixed = evaluation.evaluate_model(
        detector.model, detector.image_processor, dataset_dict, tmp_path / "a", threshold=0.9, **kwargs
    )
    assert fixed["threshold"] == {"value": 0.9, "source": "fixed (--threshold)"}
    assert fixed["metrics"]["confusion_matrix"] == [[6, 0], [5, 1]]
    strict = evaluation.evaluate_model(
        detector.model, detector.image_processor, dataset_dict, tmp_path / "b", tune_on="validation",
        target_fpr=0.0, **kwargs,
    )  # fmt: skip
    assert strict["threshold"]["validation"]["fpr"] == 0.0
    assert strict["threshold"]["value"] == pytest.approx(
        choose_threshold(VAL_LABELS, VAL_SCORES, target_fpr=0.0).threshold
    )


def test_tuning_on_too_few_images_is_refused_or_skipped(
    tiny_cnn_dir, dataset_dict, fixed_scores, tmp_path, caplog
):
    detector = load_detector(tiny_cnn_dir)
    kwargs = {"robustness": False, "gallery": False, "tune_on": "validation"}
    with pytest.raises(ConfigError, match=r"4 real and 4 fake images.*at least 50"):
        evaluation.evaluate_model(
            detector.model,
            detector.image_processor,
            dataset_dict,
            tmp_path / "a",
            strict_tuning=True,
            **kwargs,
        )
    report = evaluation.evaluate_model(
        detector.model, detector.image_processor, dataset_dict, tmp_path / "b", **kwargs
    )
    assert report["threshold"]["value"] == 0.5 and "not tuned" in report["threshold"]["source"]
    assert "Threshold not tuned" in caplog.text


def test_folding_makes_argmax_the_rule_and_the_report_describe_the_saved_model(
    tiny_vit_dir, dataset_dict, tmp_path
):
    model_dir = shutil.copytree(tiny_vit_dir, tmp_path / "model")
    raw = load_detector(model_dir)
    raw_scores = score_dataset(raw, dataset_dict["test"].with_format(None))
    threshold = float(np.median(raw_scores))  # a cut that splits the test images
    out = tmp_path / "report"
    report = evaluation.evaluate_model(
        raw.model, raw.image_processor, dataset_dict, out, threshold=threshold, fold_into=model_dir,
        robustness=False, gallery=False,
    )  # fmt: skip
    info = report["threshold"]
    assert info["value"] == 0.5 and info["source"] == "fixed (--threshold), folded into the model"
    assert info["folded"]["logit_shift"] == pytest.approx(logit(threshold), abs=1e-5)

    config = json.loads((model_dir / "config.json").read_text())
    assert "fake_threshold" not in config
    assert config["operating_point"]["parameters"] == ["classifier.bias"]
    assert config["operating_point"]["threshold_on_unshifted_scores"] == pytest.approx(threshold, abs=1e-6)
    # Only the classifier bias changed in the weights.
    from safetensors.torch import load_file

    before = load_file(tiny_vit_dir / "model.safetensors")
    after = load_file(model_dir / "model.safetensors")
    changed = [name for name in before if not before[name].equal(after[name])]
    assert changed == ["classifier.bias"]

    reloaded = load_detector(model_dir)
    folded_scores = score_dataset(reloaded, dataset_dict["test"].with_format(None))
    assert ((folded_scores >= 0.5) == (raw_scores >= threshold)).all()
    assert (
        report["metrics"]["confusion_matrix"] == confusion_matrix(TEST_LABELS, folded_scores >= 0.5).tolist()
    )
    assert ScoreTable.read_csv(out / "scores.csv").scores == pytest.approx(folded_scores, abs=1e-6)
    assert report["metrics"]["roc_auc"] == pytest.approx(roc_auc_score(TEST_LABELS, raw_scores))

    # The report can be recomputed for a later fold from scores.csv alone: same as evaluating anew.
    again = load_detector(model_dir)
    direct = evaluation.evaluate_model(
        again.model, again.image_processor, dataset_dict, tmp_path / "direct", threshold=0.3,
        robustness=False, gallery=False,
    )  # fmt: skip
    decision = operating_point.ThresholdDecision(0.5, "test")
    rederived = evaluation.rederive_report(out, logit(0.3), decision)
    assert rederived["metrics"]["confusion_matrix"] == direct["metrics"]["confusion_matrix"]


def test_a_model_without_an_output_bias_is_refused(tiny_vit_dir, dataset_dict, tmp_path):
    import torch

    detector = load_detector(tiny_vit_dir)
    detector.model.classifier = torch.nn.Linear(32, 2, bias=False)
    with pytest.raises(ConfigError, match="cannot fold the threshold"):
        evaluation.evaluate_model(
            detector.model, detector.image_processor, dataset_dict, tmp_path / "r", threshold=0.4,
            fold_into=tmp_path, robustness=False, gallery=False,
        )  # fmt: skip


def test_gallery_selection():
    labels = np.array([0, 0, 1, 1, 0, 1])
    scores = np.array([0.2, 0.05, 0.9, 0.6, 0.97, 0.1])
    chosen = select_gallery(labels, scores, threshold=0.5, num_errors=4)
    assert chosen == [
        ("most confident real", 1),
        ("most confident fake", 2),
        ("error #1: real called fake", 4),
        ("error #2: fake called real", 5),
    ]
