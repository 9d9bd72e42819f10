"""End to end through the CLI: `hf-aidetect train` and `hf-aidetect demo` write the output folder contract."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from transformers import pipeline

from hf_aidetect.cli import main as cli_main
from hf_aidetect.errors import ConfigError
from hf_aidetect.training.demo import find_recipe
from tests.training.conftest import FAST, TINY_VIT

CONTRACT = (
    "config.json", "model.safetensors", "preprocessor_config.json", "README.md", "all_results.json",
    "trainer_state.json", "epoch_metrics.csv", "data_summary.json", "training_args.bin",
)  # fmt: skip


def _classify(model_dir: Path, image: Path) -> list[dict]:
    return pipeline("image-classification", model=str(model_dir), device="cpu")(str(image))


def test_cli_train_writes_the_output_contract(
    tuning_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Default data-loader settings (persistent workers on a multi-core machine) on purpose: Trainer caches
    # one evaluation loader for every eval dataset object; test metrics must come from the test split.
    settings = {key: value for key, value in FAST.items() if key != "dataloader_num_workers"}
    recipe = tmp_path / "tiny.yaml"
    report = {"write_model_card": True, "evaluation_report": True, "robustness_samples": 8}
    recipe.write_text(yaml.safe_dump({**TINY_VIT, **settings, **report}), encoding="utf-8")
    out = tmp_path / "out"
    argv = ["train", "--config", str(recipe), "--dataset", str(tuning_data), "--output_dir", str(out)]
    pushed: list[str] = []  # the push must come after the report, so the plots go up with the card

    def fake_push(folder: str, **kwargs: object) -> None:
        report_done = (Path(folder) / "evaluation" / "metrics.json").is_file()
        pushed.append((Path(folder) / "README.md").read_text() if report_done else "")

    monkeypatch.setattr("hf_aidetect.publishing.push.push_output_dir", fake_push)
    hub = ["--push_to_hub", "true", "--hub_model_id", "someone/tiny"]
    assert cli_main([*argv, "--num_train_epochs", "2", "--evaluate_train", "true", *hub]) == 0
    assert len(pushed) == 1 and "](evaluation/roc_curve.png)" in pushed[0]

    assert all((out / name).is_file() for name in CONTRACT), sorted(p.name for p in out.iterdir())
    results = json.loads((out / "all_results.json").read_text())
    for split, count in (("train", 32), ("validation", 100), ("test", 16)):
        assert results[f"{split}_num_samples"] == count
        assert {f"{split}_accuracy", f"{split}_roc_auc", f"{split}_f1_fake"} <= results.keys()
    rows = list(csv.DictReader((out / "epoch_metrics.csv").open()))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert {"train_loss", "eval_roc_auc", "eval_accuracy"} <= rows[0].keys()
    summary = json.loads((out / "data_summary.json").read_text())
    assert summary["counts"]["train"] == {"real": 16, "fake": 16}

    scores = _classify(out, next((tuning_data / "test" / "fake").iterdir()))
    assert {item["label"] for item in scores} == {"real", "fake"}
    _assert_evaluation_report(out, results, tuning_data)


def _assert_evaluation_report(out: Path, results: dict, data: Path) -> None:
    """OUTPUT_DIR/evaluation/ holds the report, the tuned threshold is folded into the saved model (its top
    label is the rule the report, the card and its model-index use), the card embeds the plots."""
    from huggingface_hub import ModelCard

    report = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert report["split"] == "test" and report["num_samples"] == 16
    info = report["threshold"]
    assert info["source"] == "tuned on the validation split, folded into the model" and info["value"] == 0.5
    assert info["validation"]["num_real"] == 50 and info["validation"]["num_fake"] == 50
    point = json.loads((out / "config.json").read_text())["operating_point"]
    assert point["threshold_on_unshifted_scores"] == pytest.approx(info["folded"]["raw_threshold"], abs=1e-6)
    assert results["fake_threshold"] == 0.5 and results["tuned_threshold"] == info["folded"]["raw_threshold"]
    assert results["test_accuracy_at_threshold"] == pytest.approx(report["metrics"]["accuracy"])
    assert results["test_threshold"] == 0.5  # the Trainer's test_* metrics keep their (argmax) meaning
    assert "test_tpr_at_fpr_0.01" in results
    assert report["robustness"]["num_samples"] == 8 and (out / "evaluation" / "robustness.md").is_file()
    # The saved model's top label reproduces the report's (and the model-index's) accuracy.
    images = sorted((data / "test").rglob("*.png"))
    detector = pipeline("image-classification", model=str(out), device="cpu")
    correct = [detector(str(path))[0]["label"] == path.parent.name for path in images]
    assert sum(correct) / len(images) == pytest.approx(report["metrics"]["accuracy"])
    card = ModelCard.load(out / "README.md")
    index = {r.metric_type: r.metric_value for r in card.data.eval_results if r.dataset_split == "test"}
    assert index["accuracy"] == round(report["metrics"]["accuracy"], 4)
    for name in (
        "confusion_matrix",
        "roc_curve",
        "pr_curve",
        "score_histogram",
        "reliability_diagram",
        "gallery",
    ):
        assert (out / "evaluation" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"](evaluation/{name}.png)" in card.text
    assert "`P(fake) >= 0.5`, i.e. when `fake` is the top label" in card.text
    assert "evaluation/robustness.md" in card.text


def test_cli_errors_are_one_line(tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["train", "--config", str(find_recipe("demo_vit.yaml")), "--dataset", str(tiny_data)]
    assert cli_main([*argv, "--output_dir", str(tmp_path), "--learning_rat", "1"]) == 2
    assert "Unknown key 'learning_rat'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="recipes-dir"):
        find_recipe("demo_vit.yaml", tmp_path)
    with pytest.raises(ConfigError, match=r"not a shipped training recipe.*demo_cnn"):
        find_recipe("nope.yaml")


def test_demo_command_trains_both_models(tiny_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    quick = ["--num_train_epochs", "1", "--per_device_train_batch_size", "16", "--disable_tqdm", "true"]
    assert cli_main(["demo", "--output-dir", str(out), "--data-dir", str(tiny_data), *quick]) == 0
    summary = json.loads((out / "results.json").read_text())
    assert [row["model"] for row in summary["results"]] == ["cnn", "vit"]
    assert "| cnn |" in (out / "results.md").read_text()
    image = next((tiny_data / "test" / "real").iterdir())
    for name in ("cnn", "vit"):
        assert json.loads((out / name / "all_results.json").read_text())["test_num_samples"] == 16
        assert len(_classify(out / name, image)) == 2
        assert (out / name / "evaluation" / "metrics.json").is_file()  # the demo keeps the report
