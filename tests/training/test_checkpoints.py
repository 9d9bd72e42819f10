"""The saved model is exactly the best checkpoint, and a resumed run ends exactly like an uninterrupted one.

Both guard the same transformers-5 trap: ``Trainer`` reloads checkpoints with
``load_state_dict(strict=False)`` against ViT keys that ``save_pretrained`` renamed, silently keeping the
current (last) encoder weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from hf_aidetect.training.acceleration import training_threads
from hf_aidetect.training.runner import build_trainer, train
from tests.training.conftest import TINY_CNN, TINY_VIT, recipe_args


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


def test_the_best_checkpoint_is_reloaded_once_by_the_trainer(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hf_aidetect.training import trainer as trainer_module

    reloads: list[Path] = []
    exact = trainer_module.load_exact_weights

    def spy(model: torch.nn.Module, folder: str | Path) -> None:
        reloads.append(Path(folder))
        exact(model, folder)

    monkeypatch.setattr(trainer_module, "load_exact_weights", spy)
    out = tmp_path / "cnn"
    args = recipe_args(
        tiny_data, out, TINY_CNN, num_train_epochs=2, metric_for_best_model="loss", greater_is_better=True
    )
    setup = build_trainer(*args)
    assert setup.trainer.args.load_best_model_at_end is True  # the Trainer's own hook, not a second path
    results = train(*args)
    assert reloads == [Path(results["best_model_checkpoint"])]
    _assert_identical(_weights(out), _weights(reloads[0]))


class _StopAfterFirstEpoch(TrainerCallback):
    def on_epoch_end(self, args, state, control, **kwargs):
        control.should_training_stop = True
        return control


def test_resume_ends_with_the_same_weights(tiny_data: Path, tmp_path: Path) -> None:
    common = {"num_train_epochs": 2, "load_best_model_at_end": False, "save_total_limit": 3}
    train(*recipe_args(tiny_data, tmp_path / "full", TINY_VIT, **common))

    interrupted = tmp_path / "resumed"
    trainer = build_trainer(*recipe_args(tiny_data, interrupted, TINY_VIT, **common)).trainer
    trainer.add_callback(_StopAfterFirstEpoch())
    trainer.train()
    checkpoint = interrupted / f"checkpoint-{trainer.state.global_step}"
    assert checkpoint.is_dir() and trainer.state.epoch == 1
    train(*recipe_args(tiny_data, interrupted, TINY_VIT, resume_from_checkpoint=str(checkpoint), **common))

    _assert_identical(_weights(tmp_path / "full"), _weights(interrupted))
    full_state = json.loads((tmp_path / "full" / "trainer_state.json").read_text())
    resumed_state = json.loads((interrupted / "trainer_state.json").read_text())
    assert full_state["global_step"] == resumed_state["global_step"]


class _StopAtStep(TrainerCallback):
    """Ends the run at ``step``, after an earlier checkpoint: the work since is lost, as in a kill."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_training_stop = True
        return control


AUGMENTED = {"augment": True, "hflip_prob": 0.5, "jpeg_prob": 0.5, "blur_prob": 0.5}


@pytest.mark.parametrize(
    "switches",
    [
        {},  # on-the-fly decoding, the loader finishes the batch
        {"dataloader_num_workers": 2},  # keyed draws do not depend on which worker decodes
        {"device_preprocessing": True, "decode_cache": True},  # uint8 + draws, finished by the trainer
    ],
    ids=["loader", "two-workers", "device+cache"],
)
def test_mid_epoch_resume_with_augmentation_is_exact(tiny_data: Path, tmp_path: Path, switches: dict) -> None:
    # 32 images / batch 8 = 4 steps an epoch; a checkpoint at step 3 is mid-epoch, the run dies at step 5.
    common = {"num_train_epochs": 2, "load_best_model_at_end": False}
    common.update(save_strategy="steps", save_steps=3)
    common.update(AUGMENTED, save_total_limit=5, decode_cache_dir=str(tmp_path / "cache"), **switches)
    train(*recipe_args(tiny_data, tmp_path / "full", TINY_CNN, **common))

    interrupted = tmp_path / "resumed"
    script_args, training_args, model_args = recipe_args(tiny_data, interrupted, TINY_CNN, **common)
    trainer = build_trainer(script_args, training_args, model_args).trainer
    trainer.add_callback(_StopAtStep(5))
    workers = training_args.dataloader_num_workers
    with training_threads(training_args.torch_threads, workers, training_args.device):  # as train() does
        trainer.train()
    assert (interrupted / "checkpoint-3").is_dir() and trainer.state.global_step == 5
    resume = {"resume_from_checkpoint": str(interrupted / "checkpoint-3")}
    train(*recipe_args(tiny_data, interrupted, TINY_CNN, **resume, **common))

    _assert_identical(_weights(tmp_path / "full"), _weights(interrupted))
