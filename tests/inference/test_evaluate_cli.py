"""``hf-aidetect evaluate``: external sets scored whole, one table, the model folder untouched unless asked,
and one decision rule for pipeline(), predict, the card and its model-index after --save-threshold."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from hf_aidetect.cli import main
from hf_aidetect.data import load_detection_dataset
from hf_aidetect.inference.evaluation import evaluate_model
from hf_aidetect.inference.loading import load_detector
from tests.publishing.conftest import folder_digest
from tests.utils import make_class_folder, make_disk_dataset

FAST = ["--no-gallery", "--robustness-samples", "4", "--bootstrap", "50"]


def _labelled(folder: Path) -> list[tuple[str, str]]:
    """(path, true label) of every image below ``folder`` (class = the real/ or fake/ folder above it)."""
    return [
        (str(path), "fake" if "fake" in path.relative_to(folder).parts else "real")
        for path in sorted(folder.rglob("*.jpg"))
    ]


def test_external_sets_are_scored_whole_and_the_model_is_untouched(tiny_vit_dir, tmp_path, capsys):
    model_dir = shutil.copytree(tiny_vit_dir, tmp_path / "model")
    test_only = make_class_folder(tmp_path / "test_only" / "test", {"real": 5, "fake": 7}).parent
    classes = make_class_folder(
        tmp_path / "classes", {"real": 6, "fake": 6}, sources=["gan_a", "gan_b"], seed=9
    )
    saved = make_disk_dataset(tmp_path / "saved", n_per_class=5)
    before = folder_digest(model_dir)
    out = tmp_path / "reports"
    args = ["-q", "evaluate", str(model_dir), str(test_only), str(classes), str(saved), "--out", str(out)]
    assert main([*args, *FAST]) == 0
    summary = json.loads((out / "summary.json").read_text())
    counts = {row["dataset"]: (row["num_real"], row["num_fake"]) for row in summary["rows"]}
    assert counts == {"test_only": (5, 7), "classes": (6, 6), "saved": (5, 5)}  # every image, no carving
    for name, (real, fake) in counts.items():
        report = json.loads((out / name / "metrics.json").read_text())
        assert report["num_samples"] == real + fake and len(report["operating_points"]["tpr_at_fpr"]) == 4
    assert json.loads((out / "classes" / "metrics.json").read_text())["per_source"]
    assert summary["threshold"] == {"value": 0.5, "source": "default"}
    printed = capsys.readouterr().out
    assert "| test_only | test | 5 | 7 |" in printed and "| saved | test | 5 | 5 |" in printed
    assert (out / "summary.md").read_text().count("\n| ") == 4  # header + 3 rows
    assert folder_digest(model_dir) == before


def test_one_set_writes_into_out_and_carving_is_explicit(tiny_cnn_dir, tmp_path):
    classes = make_class_folder(tmp_path / "classes", {"real": 10, "fake": 10})
    out = tmp_path / "one"
    assert main(["-q", "evaluate", str(tiny_cnn_dir), str(classes), "--out", str(out), *FAST]) == 0
    assert json.loads((out / "metrics.json").read_text())["num_samples"] == 20
    carved = tmp_path / "carved"
    common = ["--carve", "--test-size", "4", "--seed", "1"]
    assert (
        main(["-q", "evaluate", str(tiny_cnn_dir), str(classes), "--out", str(carved), *common, *FAST]) == 0
    )
    assert json.loads((carved / "metrics.json").read_text())["num_samples"] == 4


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--save-threshold"], "--save-threshold needs a threshold"),
        (["--target-fpr", "0.01"], "--target-fpr tunes a threshold"),
        (["--tune-on", "TUNE"], "has 4 real and 4 fake images"),
        (["--out", "MODEL/inside"], "inside MODEL"),
    ],
)
def test_refusals_are_one_line_errors(tiny_cnn_dir, tmp_path, capsys, extra, message):
    model_dir = shutil.copytree(tiny_cnn_dir, tmp_path / "model")
    data = make_class_folder(tmp_path / "data", {"real": 4, "fake": 4})
    extra = [value.replace("TUNE", str(data)).replace("MODEL", str(model_dir)) for value in extra]
    before = folder_digest(model_dir)
    assert main(["-q", "evaluate", str(model_dir), str(data), *FAST, *extra]) == 2
    assert message in capsys.readouterr().err
    assert folder_digest(model_dir) == before


def test_save_threshold_gives_one_rule_for_pipeline_predict_card_and_model_index(
    tiny_vit_dir, tmp_path, capsys
):
    from transformers import pipeline

    model_dir = shutil.copytree(tiny_vit_dir, tmp_path / "model")
    test = make_class_folder(tmp_path / "test", {"real": 12, "fake": 12}, seed=3)
    tune = make_class_folder(tmp_path / "tune", {"real": 50, "fake": 50}, seed=5)
    # The model's own report, as training leaves it (at argmax, before any tuning).
    detector = load_detector(model_dir)
    test_split = load_detection_dataset(test, purpose="evaluation")
    evaluate_model(
        detector.model, detector.image_processor, test_split, model_dir / "evaluation", robustness=False,
        gallery=False, bootstrap_resamples=50,
    )  # fmt: skip
    args = ["-q", "evaluate", str(model_dir), str(test), "--out", str(tmp_path / "r"), *FAST]
    assert main([*args, "--tune-on", str(tune), "--target-fpr", "0.1", "--save-threshold"]) == 0
    capsys.readouterr()

    config = json.loads((model_dir / "config.json").read_text())
    point = config["operating_point"]
    assert point["tuning"]["tuned_on"] == "`tune`" and point["tuning"]["num_real"] == 50
    assert point["tuning"]["method"] == "target_fpr"
    images = _labelled(test)
    detector = pipeline("image-classification", model=str(model_dir), device="cpu")
    top_labels = [detector(path)[0]["label"] for path, _ in images]
    assert main(["-q", "predict", str(model_dir), *(p for p, _ in images), "--format", "jsonl"]) == 0
    predicted = [json.loads(line)["label"] for line in capsys.readouterr().out.splitlines()]
    assert predicted == top_labels and set(top_labels) == {"real", "fake"}
    assert abs(point["logit_shift"]) > 0.01

    card = ModelCard.load(model_dir / "README.md")
    accuracy = sum(label == truth for label, (_, truth) in zip(top_labels, images)) / len(images)
    index = {r.metric_type: r.metric_value for r in card.data.eval_results if r.dataset_split == "test"}
    assert index["accuracy"] == round(accuracy, 4)
    assert {"tpr_at_1pct_fpr", "average_precision", "ece", "brier"} <= set(index)
    assert "P(fake) = 0.5 is that threshold" in card.text and "`P(fake) >= 0.5`" in card.text
    report = json.loads((model_dir / "evaluation" / "metrics.json").read_text())
    assert report["threshold"]["source"].endswith("folded into the model")
    assert report["metrics"]["accuracy"] == pytest.approx(accuracy)
