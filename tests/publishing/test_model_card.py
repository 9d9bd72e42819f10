"""Model card rendering: best-checkpoint metrics, missing fields left out, template found, callback data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from hf_aidetect.publishing import model_card
from hf_aidetect.publishing.card_inputs import CardInputs, collect_card_inputs, safe_hyperparameters
from hf_aidetect.publishing.model_card import render_model_card, template_path, write_model_card
from tests.publishing.conftest import BEST_STEP, REPO_ROOT, REPORT_METRICS, TOKEN


def _metrics(card: ModelCard, split: str) -> dict[str, float]:
    return {r.metric_type: r.metric_value for r in card.data.eval_results if r.dataset_split == split}


def test_card_uses_best_checkpoint_and_test_metrics(make_outputs) -> None:
    output_dir = make_outputs("vit")
    path = write_model_card(output_dir, repo_id="testuser/vit-faces", license="apache-2.0")
    card = ModelCard.load(path)

    assert card.data.library_name == "transformers"
    assert card.data.pipeline_tag == "image-classification"
    assert card.data.license == "apache-2.0"
    assert {"ai-image-detection", "hf_aidetect"} <= set(card.data.tags)
    # The model-index holds the model as published: the report at its folded operating point, with TPR at
    # low FPR, AP and calibration; not the Trainer's argmax metrics from before the fold.
    assert _metrics(card, "test") == {
        "accuracy": REPORT_METRICS["accuracy"],
        "f1": REPORT_METRICS["f1_fake"],
        "roc_auc": REPORT_METRICS["roc_auc"],
        "average_precision": 0.92,
        "tpr_at_1pct_fpr": 0.625,
        "tpr_at_5pct_fpr": 0.75,
        "ece": 0.12,
        "brier": 0.1,
    }
    tpr = next(r for r in card.data.eval_results if r.metric_type == "tpr_at_1pct_fpr")
    assert tpr.metric_args == {"fpr": 0.01, "ci95": [0.25, 0.875], "num_real": 8, "num_fake": 8}
    assert not _metrics(card, "validation")  # before the fold: another rule than the published one
    text = card.text
    assert f"from step {BEST_STEP} (epoch 1), f1_fake = 0.8600" in text
    assert "| 1 | 4 | 0.6800 | 0.5200 | 0.8750 | 0.8600 | 0.9300 | best |" in text
    assert "| train | 10 | 6 | 16 |" in text
    assert "![Roc curve](evaluation/roc_curve.png)" in text
    assert "- [Evaluation report](evaluation/report.md)" in text
    assert "**test** split (16 images: 8 real, 8 fake) at its decision rule `P(fake) >= 0.5`" in text
    assert "| fake | 1 | 7 |" in text  # the report's confusion matrix at its threshold
    assert "| TPR at 1% FPR (*) | 0.6250 | [0.2500, 0.8750] | 8 fake / 8 real |" in text
    assert "Expected calibration error of P(fake) (15 equal-width bins): 0.1200" in text
    assert "| stylegan2 | 0 | 8 | 0.8750 | 0.9500 |" in text
    assert "Sources seen in training: `(none)` (10), `stylegan2` (6); everything else is unseen." in text
    assert 'model="testuser/vit-faces")' in text and "trust_remote_code" not in text
    assert "`P(fake) >= 0.5`, i.e. when `fake` is the top label" in text
    assert "tuned on the validation split (60 real / 60 fake images, maximum balanced accuracy)" in text
    assert "**P(fake) = 0.5 is that threshold** (it was 0.4000" in text
    assert "argmax of the weights before the tuned threshold was folded in" in text
    assert "Bias, risks and limitations" in text and "not proof" in text
    assert "None" not in str(card)


def test_cnn_card_mentions_remote_code(make_outputs) -> None:
    card = ModelCard.load(write_model_card(make_outputs("seed_cnn"), repo_id="testuser/cnn"))
    assert 'model="testuser/cnn", trust_remote_code=True)' in card.text
    assert "seed CNN" in card.text


def test_missing_optional_fields_are_left_out(tmp_path: Path) -> None:
    card = render_model_card(CardInputs(model_name="bare", framework_versions={}))
    text = str(card)
    assert "None" not in text and "null" not in text
    absent = ("## Training data", "## Evaluation", "Hyperparameters", "Results per epoch", "model-index")
    assert not [section for section in absent if section in text]
    assert "## Bias, risks and limitations" in text
    metadata = ModelCard(text).data.to_dict()
    assert metadata["pipeline_tag"] == "image-classification"
    assert not {"base_model", "license", "datasets", "metrics", "model-index"} & set(metadata)

    # A folder with only a saved config (no results, no state) renders too.
    config = {"model_type": "vit", "id2label": {"0": "real", "1": "fake"}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    inputs = collect_card_inputs(tmp_path)
    assert inputs.test_metrics == {} and inputs.best == {} and inputs.fake_threshold is None
    assert "None" not in str(render_model_card(inputs))


def test_hub_ids_only_in_metadata(make_outputs) -> None:
    output_dir = make_outputs("vit")
    base = "google/vit-base-patch16-224-in21k"
    card = ModelCard.load(write_model_card(output_dir, finetuned_from=base, dataset=str(output_dir)))
    assert card.data.base_model == "google/vit-base-patch16-224-in21k"
    assert card.data.datasets is None  # a local folder is not a Hub dataset id
    hub_summary = {"counts": {"train": {"real": 1, "fake": 1}}, "layout": "hub", "root": "someone/fake-faces"}
    card = ModelCard.load(
        write_model_card(
            output_dir, dataset="someone/fake-faces", finetuned_from="/tmp/x", data_summary=hub_summary
        )
    )
    assert card.data.datasets == ["someone/fake-faces"] and card.data.base_model is None
    assert "https://huggingface.co/datasets/someone/fake-faces" in card.text
    # The data layer's layout wins over the name: "data/faces" from a folder is not a Hub dataset.
    summary = {"counts": {"train": {"real": 1, "fake": 1}}, "layout": "split_folders", "root": "data/faces"}
    card = ModelCard.load(write_model_card(output_dir, dataset="data/faces", data_summary=summary))
    assert card.data.datasets is None


def test_tokens_never_reach_hyperparameters() -> None:
    values = {"learning_rate": 1e-4, "hub_token": TOKEN, "push_to_hub_token": TOKEN, "seed": 3}
    values["max_steps"] = -1
    assert safe_hyperparameters(values) == {"learning_rate": 1e-4, "seed": 3}


def test_template_found_in_checkout_and_in_wheel_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert template_path() == REPO_ROOT / "model_card_template.md"
    installed = tmp_path / "site-packages" / "hf_aidetect" / "publishing"
    installed.mkdir(parents=True)
    (installed / "model_card_template.md").write_text("---\n{{ card_data }}\n---\n# {{ model_name }}\n")
    monkeypatch.setattr(model_card, "__file__", str(installed / "model_card.py"))
    assert template_path() == installed / "model_card_template.md"
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    assert '"model_card_template.md" = "hf_aidetect/publishing/model_card_template.md"' in pyproject


def test_no_best_claim_without_best_tracking(make_outputs) -> None:
    output_dir = make_outputs("vit")
    state_path = output_dir / "trainer_state.json"
    state = json.loads(state_path.read_text())
    for key in ("best_global_step", "best_model_checkpoint", "best_metric"):
        state.pop(key)
    state_path.write_text(json.dumps(state))
    card = ModelCard.load(write_model_card(output_dir))
    assert "best" not in card.text.split("## Bias")[0].replace("best_", "")
    validation = card.text.split("validation** split during training (last evaluation", 1)[1]  # labelled
    assert "| Accuracy | 0.7500 |" in validation.split("\n\n", 2)[1]


@pytest.mark.parametrize("native", [True, False], ids=["crop", "resize"])
def test_card_says_what_the_saved_processor_does_to_the_pixels(make_outputs, native: bool) -> None:
    from transformers import ViTImageProcessorPil

    from hf_aidetect.data.preprocessing import InputSpec
    from hf_aidetect.data.preprocessing.processor import crop_image_processor

    output_dir = make_outputs("seed_cnn")
    processor = crop_image_processor(InputSpec(size=64)) if native else ViTImageProcessorPil(size=64)
    processor.save_pretrained(output_dir)
    text = ModelCard.load(write_model_card(output_dir, repo_id="testuser/cnn")).text
    assert ("Images are never resampled" in text) is native
    assert ("Images are resized to" in text) is not native
