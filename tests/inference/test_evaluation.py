"""The evaluation report: metrics equal scikit-learn's, tuned threshold, plots, per-source, gallery, CLI."""

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

from hf_aidetect.cli import main
from hf_aidetect.inference import evaluation
from hf_aidetect.inference.gallery import select_gallery
from hf_aidetect.inference.loading import load_detector
from hf_aidetect.inference.threshold import choose_threshold
from tests.utils import make_split_layout, write_rgb_jpeg

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


def _assert_png(path, min_size=(300, 200)):
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width > min_size[0] and image.height > min_size[1]


def test_report_matches_sklearn_on_fixed_scores(tiny_cnn_dir, dataset_dict, fixed_scores, tmp_path):
    detector = load_detector(tiny_cnn_dir)
    out = tmp_path / "report"
    report = evaluation.evaluate_model(
        detector.model, detector.image_processor, dataset_dict, out, robustness_samples=None
    )
    threshold = choose_threshold(VAL_LABELS, VAL_SCORES).threshold
    assert report["threshold"]["value"] == pytest.approx(threshold)
    assert report["threshold"]["source"] == "tuned on validation"
    assert detector.model.config.fake_threshold == pytest.approx(threshold)
    predicted = (threshold <= TEST_SCORES).astype(int)
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

    # Per source: accuracy on the source's images, AP of a generator against all real images.
    per_source = {row["source"]: row for row in report["per_source"]}
    assert set(per_source) == {"camera", "gan", "diffusion"}
    gan = np.array([s in ("gan", "camera") for s in TEST_SOURCES])
    own = np.array([s == "gan" for s in TEST_SOURCES])
    assert per_source["gan"]["accuracy"] == pytest.approx(accuracy_score(TEST_LABELS[own], predicted[own]))
    assert per_source["gan"]["average_precision"] == pytest.approx(
        average_precision_score(TEST_LABELS[gan], TEST_SCORES[gan])
    )
    assert (
        per_source["gan"]["ap_basis"] == "vs all real" and per_source["camera"]["ap_basis"] == "vs all fake"
    )

    # Files: strict JSON, plots, robustness table (clean + 5 rows), gallery, markdown report.
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["metrics"]["accuracy"] == pytest.approx(metrics["accuracy"])
    for name in ("confusion_matrix", "roc_curve", "pr_curve", "score_histogram"):
        _assert_png(out / f"{name}.png")
    _assert_png(out / "gallery.png", (600, 300))
    assert saved["robustness"]["rows"][0]["perturbation"] == "clean"
    assert len(saved["robustness"]["rows"]) == 6 and (out / "robustness.md").is_file()
    markdown = (out / "report.md").read_text()
    for fragment in ("## Metrics", "## Per source", "## Robustness", "](roc_curve.png)", "](gallery.png)"):
        assert fragment in markdown


def test_fixed_threshold_and_target_fpr(tiny_cnn_dir, dataset_dict, fixed_scores, tmp_path):
    detector = load_detector(tiny_cnn_dir)
    kwargs = {"robustness": False, "gallery": False}
    fixed = evaluation.evaluate_model(
        detector.model,
        detector.image_processor,
        dataset_dict,
        tmp_path / "a",
        threshold=0.9,
        **kwargs,
    )
    assert fixed["threshold"] == {"value": 0.9, "source": "fixed (--threshold)"}
    assert fixed["metrics"]["confusion_matrix"] == [[6, 0], [5, 1]]
    strict = evaluation.evaluate_model(
        detector.model, detector.image_processor, dataset_dict, tmp_path / "b", target_fpr=0.0, **kwargs
    )
    assert strict["threshold"]["validation"]["fpr"] == 0.0
    assert strict["threshold"]["value"] == pytest.approx(
        choose_threshold(VAL_LABELS, VAL_SCORES, target_fpr=0.0).threshold
    )


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


def test_evaluate_command_saves_threshold_for_predict(tiny_vit_dir, tmp_path, capsys):
    model_dir = shutil.copytree(tiny_vit_dir, tmp_path / "model")
    data = make_split_layout(
        tmp_path / "data", {s: {"real": 4, "fake": 4} for s in ("train", "valid", "test")}
    )
    status = main(
        ["-q", "evaluate", str(model_dir), str(data), "--robustness-samples", "4", "--gallery-errors", "1"]
    )
    assert status == 0
    report = json.loads((model_dir / "evaluation" / "metrics.json").read_text())
    saved = json.loads((model_dir / "config.json").read_text())["fake_threshold"]
    assert saved == pytest.approx(report["threshold"]["value"])
    assert "accuracy" in capsys.readouterr().out
    assert report["robustness"]["num_samples"] == 4
    image = str(next((data / "test" / "real").glob("*.jpg")))
    assert main(["-q", "predict", str(model_dir), image, "--format", "jsonl", "--threshold", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] == "fake"


def test_evaluate_command_fixed_threshold_saved_only_on_request(tiny_cnn_dir, tmp_path):
    model_dir = shutil.copytree(tiny_cnn_dir, tmp_path / "model")
    data = make_split_layout(
        tmp_path / "data", {s: {"real": 3, "fake": 3} for s in ("train", "valid", "test")}
    )
    base = [
        "-q",
        "evaluate",
        str(model_dir),
        str(data),
        "--no-robustness",
        "--no-gallery",
        "--threshold",
        "0.7",
    ]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    assert "fake_threshold" not in json.loads((model_dir / "config.json").read_text())
    assert main([*base, "--out", str(tmp_path / "b"), "--save-threshold"]) == 0
    assert json.loads((model_dir / "config.json").read_text())["fake_threshold"] == 0.7
    written = {p.name for p in (tmp_path / "b").iterdir()}
    assert written == {"metrics.json", "report.md", *(f"{n}.png" for n in evaluation.PLOT_FILES)}
