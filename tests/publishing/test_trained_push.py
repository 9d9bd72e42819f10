"""A real (tiny) training run through hf_aidetect.training.train, then its card and its push."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import ModelCard
from PIL import Image

from hf_aidetect.publishing.card_inputs import best_log_entry
from tests.publishing.conftest import TOKEN, USER, go_online

TINY_VIT = {
    "model_type": "vit",
    "image_size": 32,
    "config_overrides": {"patch_size": 8, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
                         "intermediate_size": 32},
}  # fmt: skip


def _tiny_faces(root: Path) -> Path:
    """``root/<split>/<real|fake>/*.png``: smooth gradients vs gradients with a checkerboard (learnable)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:32, 0:32] / 32
    for split, n in (("train", 8), ("valid", 4), ("test", 4)):
        for label in ("real", "fake"):
            folder = root / split / label
            folder.mkdir(parents=True)
            for index in range(n):
                image = np.stack([x, y, (x + y) / 2], axis=-1) * rng.uniform(80, 200, 3)
                if label == "fake":
                    image += 40.0 * ((np.indices((32, 32)).sum(axis=0) % 2)[..., None] - 0.5)
                Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(folder / f"{index}.png")
    return root


REPO_ID = f"{USER}/recipe-pushed-vit"


@pytest.fixture(scope="module")
def trained_vit(hub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Train for 3 tiny epochs with ``push_to_hub: true`` (the recipe option) against the local Hub."""
    from hf_aidetect.training import parse_dict_args, train

    root = tmp_path_factory.mktemp("trained")
    values = {
        "dataset": str(_tiny_faces(root / "data")),
        "output_dir": str(root / "vit"),
        **TINY_VIT,
        "num_train_epochs": 3,
        "per_device_train_batch_size": 8,
        "learning_rate": 0.01,
        "logging_steps": 1,
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        "augment": False,
        "seed": 0,
        "hub_token": TOKEN,  # must stay in training_args.bin, never reach the card or the Hub
        "push_to_hub": True,
        "hub_model_id": REPO_ID,
    }
    with pytest.MonkeyPatch.context() as monkeypatch:
        go_online(hub, monkeypatch, root / "no-token-file")
        train(*parse_dict_args(values))
    return root / "vit"


def test_trained_card_reports_the_best_checkpoint(trained_vit: Path) -> None:
    state = json.loads((trained_vit / "trainer_state.json").read_text())
    results = json.loads((trained_vit / "all_results.json").read_text())
    best = best_log_entry(state)
    assert best["step"] == state["best_global_step"]
    card = ModelCard.load(trained_vit / "README.md")
    by_split = {(r.dataset_split, r.metric_type): r.metric_value for r in card.data.eval_results}
    assert by_split["validation", "accuracy"] == round(best["eval_accuracy"], 4)
    assert by_split["validation", "roc_auc"] == round(best["eval_roc_auc"], 4)
    assert by_split["test", "accuracy"] == round(results["test_accuracy"], 4)
    assert "Confusion matrix" in card.text and "| train | 8 | 8 | 16 |" in card.text
    assert TOKEN not in (trained_vit / "README.md").read_text()
    assert TOKEN.encode() in (trained_vit / "training_args.bin").read_bytes()  # why it is never uploaded


def test_recipe_push_uploads_only_the_model(hub, trained_vit: Path) -> None:
    stored = hub.store.get_repo(REPO_ID).resolve("main").tree
    assert {"model.safetensors", "config.json", "preprocessor_config.json", "README.md"} <= set(stored)
    assert not [path for path in stored if path.startswith("checkpoint-") or path.endswith((".bin", ".pt"))]
    assert (trained_vit / "model.safetensors").read_bytes() == hub.store.file_content(
        stored["model.safetensors"]
    )
    contents = {path: hub.store.file_content(entry) for path, entry in stored.items()}
    assert "trainer_state.json" in contents
    assert not [path for path, content in contents.items() if TOKEN.encode() in content]
    card = ModelCard(contents["README.md"].decode())
    assert f'model="{REPO_ID}"' in card.text
    assert card.data.eval_results == ModelCard.load(trained_vit / "README.md").data.eval_results
