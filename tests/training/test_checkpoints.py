"""The saved model is exactly the best checkpoint, and a resumed run ends exactly like an uninterrupted one.

Both guard the same transformers-5 trap: ``Trainer`` reloads checkpoints with
``load_state_dict(strict=False)`` against ViT keys that ``save_pretrained`` renamed, silently keeping the
current (last) encoder weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from hf_aidetect.training.runner import build_trainer, train
from tests.training.conftest import TINY_VIT, recipe_args


def _weights(folder: str | Path) -> dict[str, torch.Tensor]:
    return load_file(str(Path(folder) / "model.safetensors"))


def _assert_identical(left: dict[str, torch.Tensor], right: dict[str, torch.Tensor]) -> None:
    assert left.keys() == right.keys()
    different = [name for name in left if not torch.equal(left[name], right[name])]
    assert not different, f"tensors differ: {different[:5]}"


def test_saved_model_is_exactly_the_best_checkpoint(tiny_data: Path, tmp_path: Path) -> None:
    # "Best" = highest validation loss, i.e. the first epoch: guaranteed to differ from the last one.
    out = tmp_path / "vit"
    args = recipe_args(
        tiny_data, out, TINY_VIT, num_train_epochs=3, metric_for_best_model="loss", greater_is_better=True,
        save_total_limit=2,
    )  # fmt: skip
    results = train(*args)
    state = json.loads((out / "trainer_state.json").read_text())
    best = Path(state["best_model_checkpoint"])
    last = out / f"checkpoint-{state['global_step']}"
    assert best != last and best.is_dir() and last.is_dir()
    saved = _weights(out)
    _assert_identical(saved, _weights(best))
    assert any(not torch.equal(saved[name], tensor) for name, tensor in _weights(last).items())
    assert results["best_model_checkpoint"] == str(best)
    assert not (out / "evaluation").exists()  # evaluation_report: false (FAST)
    assert "fake_threshold" not in json.loads((out / "config.json").read_text())


class _StopAfterFirstEpoch(TrainerCallback):
    def on_epoch_end(self, args, state, control, **kwargs):
        control.should_training_stop = True
        return control


def test_resume_ends_with_the_same_weights(tiny_data: Path, tmp_path: Path) -> None:
    common = {"num_train_epochs": 2, "load_best_model_at_end": False, "save_total_limit": 3}
    train(*recipe_args(tiny_data, tmp_path / "full", TINY_VIT, **common))

    interrupted = tmp_path / "resumed"
    trainer, _, _ = build_trainer(*recipe_args(tiny_data, interrupted, TINY_VIT, **common))
    trainer.add_callback(_StopAfterFirstEpoch())
    trainer.train()
    checkpoint = interrupted / f"checkpoint-{trainer.state.global_step}"
    assert checkpoint.is_dir() and trainer.state.epoch == 1
    train(*recipe_args(tiny_data, interrupted, TINY_VIT, resume_from_checkpoint=str(checkpoint), **common))

    _assert_identical(_weights(tmp_path / "full"), _weights(interrupted))
    full_state = json.loads((tmp_path / "full" / "trainer_state.json").read_text())
    resumed_state = json.loads((interrupted / "trainer_state.json").read_text())
    assert full_state["global_step"] == resumed_state["global_step"]
