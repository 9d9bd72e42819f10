"""Backbones through the whole training path: the recipes on their tiny twins via the CLI, the exact best
checkpoint and an exact resume with LoRA adapters, and two-process DDP with LoRA.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from huggingface_hub import ModelCard
from safetensors.torch import load_file
from transformers import AutoModelForImageClassification, TrainerCallback

from hf_aidetect.cli import main
from hf_aidetect.models import ModelArguments, build_model
from hf_aidetect.models.lora import load_exact_adapter, merge_lora
from hf_aidetect.recipes import recipe_path
from hf_aidetect.training.runner import build_trainer, train
from tests.backbones.conftest import HEAD, NORMS, lora_parameters
from tests.training.conftest import FAST, REPO, recipe_args

# recipe -> (twin family, tuning mode, trainable parameters of the twin under the recipe's settings)
RECIPES = {
    "clip_vitl14_lora.yaml": ("clip", "lora", lora_parameters("clip", 16) + HEAD),
    "dinov2_linear_probe.yaml": ("dinov2_with_registers", "linear_probe", HEAD),
    "siglip2_layernorm.yaml": ("siglip", "layernorm", NORMS["siglip"] + HEAD),
    "convnextv2_full.yaml": ("convnextv2", "full", None),
}
QUICK = [
    "--num_train_epochs", "1", "--per_device_train_batch_size", "8", "--per_device_eval_batch_size", "16",
    "--dataloader_num_workers", "0", "--image_size", "32", "--channels_last", "false", "--auto_bf16", "false",
    "--evaluation_report", "false", "--validate_images", "false", "--disable_tqdm", "true",
]  # fmt: skip


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def _assert_identical(left: dict[str, torch.Tensor], right: dict[str, torch.Tensor]) -> None:
    assert left.keys() == right.keys()
    different = [name for name in left if not torch.equal(left[name], right[name])]
    assert not different, f"tensors differ: {different[:5]}"


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_recipe_trains_its_tiny_twin_through_the_cli(recipe, twins, tiny_data: Path, tmp_path: Path) -> None:
    family, mode, expected = RECIPES[recipe]
    out = tmp_path / "out"
    argv = ["train", "--config", str(recipe_path(recipe)), "--model_name_or_path", str(twins[family])]
    assert main([*argv, "--dataset", str(tiny_data), "--output_dir", str(out), *QUICK]) == 0
    config = json.loads((out / "config.json").read_text())
    tuning = config["tuning"]
    assert config["model_type"] == "backbone_detector" and tuning["mode"] == mode
    if expected is not None:
        assert tuning["trainable_parameters"] == expected
    else:
        assert tuning["trainable_parameters"] == tuning["total_parameters"]
    card = ModelCard.load(out / "README.md")
    assert (
        f"{tuning['trainable_parameters']:,} of {tuning['total_parameters']:,} parameters trained"
        in card.text
    )
    assert (out / "model.safetensors").is_file() and json.loads((out / "all_results.json").read_text())


LORA = {"model_name_or_path": None, "tuning": "lora", "lora_r": 4, "pooling": "attention"}


@pytest.mark.slow
def test_lora_run_keeps_exactly_the_best_checkpoints_adapter(twins, tiny_data: Path, tmp_path: Path) -> None:
    """'Best' = highest validation loss (the first epoch): the saved model must be that adapter, merged."""
    out = tmp_path / "lora"
    model = {**LORA, "model_name_or_path": str(twins["dinov3_vit"])}
    train(*recipe_args(tiny_data, out, model, num_train_epochs=3, metric_for_best_model="loss",
                       greater_is_better=True, save_total_limit=2))  # fmt: skip
    state = json.loads((out / "trainer_state.json").read_text())
    best, last = Path(state["best_model_checkpoint"]), out / f"checkpoint-{state['global_step']}"
    assert best != last and (best / "adapter_model.safetensors").is_file()
    assert not (best / "model.safetensors").exists()  # LoRA checkpoints hold the adapter + head only

    expected = {}
    for checkpoint in (best, last):
        base, _ = build_model(ModelArguments(**model))
        load_exact_adapter(base, checkpoint)
        expected[checkpoint] = merge_lora(base)[0].state_dict()
    saved = AutoModelForImageClassification.from_pretrained(out).state_dict()  # saved names are converted
    _assert_identical(saved, expected[best])
    assert any(not torch.equal(saved[name], expected[last][name]) for name in saved)


class _StopAfterFirstEpoch(TrainerCallback):
    def on_epoch_end(self, args, state, control, **kwargs):
        control.should_training_stop = True
        return control


@pytest.mark.slow
def test_lora_resume_ends_with_the_same_weights(twins, tiny_data: Path, tmp_path: Path) -> None:
    model = {**LORA, "model_name_or_path": str(twins["clip"]), "lora_dropout": 0.1}  # dropout: RNG is resumed
    common = {"num_train_epochs": 2, "load_best_model_at_end": False, "save_total_limit": 3}
    train(*recipe_args(tiny_data, tmp_path / "full", model, **common))

    interrupted = tmp_path / "resumed"
    trainer = build_trainer(*recipe_args(tiny_data, interrupted, model, **common)).trainer
    trainer.add_callback(_StopAfterFirstEpoch())
    trainer.train()
    checkpoint = interrupted / f"checkpoint-{trainer.state.global_step}"
    assert (checkpoint / "adapter_model.safetensors").is_file() and trainer.state.epoch == 1
    train(*recipe_args(tiny_data, interrupted, model, resume_from_checkpoint=str(checkpoint), **common))
    _assert_identical(_weights(tmp_path / "full"), _weights(interrupted))


def test_resuming_with_other_lora_settings_is_an_error(twins, tiny_data: Path, tmp_path: Path) -> None:
    from hf_aidetect.errors import ConfigError

    model = {**LORA, "model_name_or_path": str(twins["clip"])}
    out = tmp_path / "run"
    train(*recipe_args(tiny_data, out, model, num_train_epochs=1, load_best_model_at_end=False))
    checkpoint = next(out.glob("checkpoint-*"))
    other = {**model, "lora_r": 8}
    with pytest.raises(ConfigError, match="same --tuning"):
        train(*recipe_args(tiny_data, tmp_path / "other", other, resume_from_checkpoint=str(checkpoint)))


@pytest.mark.slow
def test_two_process_ddp_trains_lora(twins, tiny_data: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "lora.yaml"
    values = {**FAST, **LORA, "model_name_or_path": str(twins["siglip2"]), "num_train_epochs": 1}
    recipe.write_text(yaml.safe_dump(values), encoding="utf-8")
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        str(REPO / "recipes" / "finetune_backbone.py"), "--config", str(recipe), "--dataset", str(tiny_data),
        "--output_dir", str(out), "--log_level_replica", "info",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    results = json.loads((out / "all_results.json").read_text())
    state = json.loads((out / "trainer_state.json").read_text())
    assert results["train_world_size"] == 2
    assert state["global_step"] == 32 // (2 * FAST["per_device_train_batch_size"])
    assert log.count("Loaded the exact adapter weights") == 2, log[-3000:]  # each rank reloaded the best
    assert log.count("LoRA adapters merged") == 2 and log.count("Training finished in") == 1
    config = json.loads((out / "config.json").read_text())
    assert config["tuning"]["mode"] == "lora" and (out / "model.safetensors").is_file()
