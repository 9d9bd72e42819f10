"""Model card rendering: best-checkpoint metrics, missing fields left out, template found, callback data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from hf_aidetect.publishing import model_card
from hf_aidetect.publishing.card_inputs import CardInputs, collect_card_inputs, safe_hyperparameters
from hf_aidetect.publishing.model_card import render_model_card, template_path, write_model_card
from tests.publishing.conftest import BEST_STEP, REPO_ROOT, TEST_RESULTS, TOKEN


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
    assert _metrics(card, "test") == {
        "accuracy": TEST_RESULTS["test_accuracy"],
        "f1": TEST_RESULTS["test_f1_fake"],
        "precision": TEST_RESULTS["test_precision_fake"],
        "recall": TEST_RESULTS["test_recall_fake"],
        "roc_auc": TEST_RESULTS["test_roc_auc"],
    }
    # Validation numbers are the best checkpoint's (epoch 1), not the last epoch's (accuracy 0.75).
    assert _metrics(card, "validation")["accuracy"] == 0.875
    assert _metrics(card, "validation")["f1"] == 0.86
    text = card.text
    assert f"from step {BEST_STEP} (epoch 1), f1_fake = 0.8600" in text
    assert "| 1 | 4 | 0.6800 | 0.5200 | 0.8750 | 0.8600 | 0.9300 | best |" in text
    assert "| fake | 2 | 6 |" in text  # confusion matrix row: 2 fakes missed, 6 caught
    assert "| train | 10 | 6 | 16 |" in text
    assert "![Roc curve](evaluation/roc_curve.png)" in text
    assert "- [Evaluation report](evaluation/report.md)" in text
    assert "**test** split at threshold 0.4 (tuned on validation)" in text
    assert "| fake | 1 | 7 |" in text  # the report's confusion matrix at its threshold
    assert "| stylegan2 | 0 | 8 | 0.8750 | 0.9500 | vs all real |" in text
    assert "Sources seen in training: `(none)` (10), `stylegan2` (6); everything else is unseen." in text
    assert 'model="testuser/vit-faces")' in text and "trust_remote_code" not in text
    assert "P(fake) >= 0.4" in text and "fake_threshold" in text
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
    assert _metrics(card, "validation")["accuracy"] == 0.75  # the last evaluation, labelled as such
    assert "validation** split (last evaluation)" in card.text
