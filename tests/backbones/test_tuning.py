"""Every backbone family x every tuning mode trains a few steps through ``DetectionTrainer``.

Checked for each: the trainable-parameter count is exactly the hand-computed one (linear probe = head,
layernorm = norms + head, LoRA = adapters + head), the count is recorded in ``config.tuning``, every frozen
weight is bit-identical after training while the trainable ones moved, and the linear probe's backbone
runs without autograd.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import Dataset
from transformers import default_data_collator

from hf_aidetect.errors import ConfigError
from hf_aidetect.models import ModelArguments, build_model
from hf_aidetect.models.backbones.twins import FAMILIES
from hf_aidetect.models.lora import is_peft_model
from hf_aidetect.training.arguments import DetectionTrainingArguments
from hf_aidetect.training.trainer import DetectionTrainer
from tests.backbones.conftest import HEAD, NORMS, lora_parameters

RANK = 2
MODES = ("full", "linear_probe", "layernorm", "lora")


class _Pixels(Dataset):
    def __init__(self, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        self.items = [
            {"pixel_values": pixels[i], "labels": int(labels[i])}
            for pixels, labels in batches
            for i in range(len(labels))
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


def _expected_trainable(family: str, mode: str, total: int) -> int:
    return {
        "full": total,
        "linear_probe": HEAD,
        "layernorm": NORMS[family] + HEAD,
        "lora": lora_parameters(family, RANK) + HEAD,
    }[mode]


def _train(model: torch.nn.Module, batches: list, output_dir: Path, steps: int = 3) -> None:
    args = DetectionTrainingArguments(
        output_dir=str(output_dir), max_steps=steps, per_device_train_batch_size=4, learning_rate=0.05,
        eval_strategy="no", save_strategy="no", report_to="none", disable_tqdm=True, logging_steps=1,
        dataloader_num_workers=0, use_cpu=True, seed=0,
    )  # fmt: skip
    trainer = DetectionTrainer(
        model=model, args=args, train_dataset=_Pixels(batches), data_collator=default_data_collator
    )
    trainer.train()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("family", FAMILIES)
def test_family_and_mode_train_exactly_the_expected_weights(
    family: str, mode: str, twins: dict[str, Path], pixel_batches: list, tmp_path: Path
) -> None:
    model, _ = build_model(ModelArguments(model_name_or_path=str(twins[family]), tuning=mode, lora_r=RANK))
    record = (model.get_base_model() if is_peft_model(model) else model).config.tuning
    # what is published: the model without the adapters and without peft's copy of the head
    total = sum(
        p.numel() for n, p in model.named_parameters() if "lora_" not in n and "modules_to_save" not in n
    )
    published = record["total_parameters"]
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == _expected_trainable(family, mode, published) == record["trainable_parameters"]
    assert record["mode"] == mode
    assert record["trainable_percent"] == pytest.approx(100 * trainable / published, abs=1e-5)
    assert published == total
    before = {name: p.detach().clone() for name, p in model.named_parameters()}

    _train(model, pixel_batches, tmp_path)

    after = dict(model.named_parameters())
    frozen = [name for name, p in after.items() if not p.requires_grad]
    moved = [name for name, p in after.items() if p.requires_grad and not torch.equal(p, before[name])]
    assert all(torch.equal(after[name], before[name]) for name in frozen), "a frozen weight changed"
    assert moved, "no trainable weight changed"
    if mode == "lora":
        assert any("lora_B" in name for name in moved) and any("classifier" in name for name in moved)
        assert not any("base_layer" in name for name in moved)


def test_linear_probe_runs_the_backbone_without_autograd_in_eval_mode(twins: dict[str, Path]) -> None:
    model, _ = build_model(ModelArguments(model_name_or_path=str(twins["clip"]), tuning="linear_probe"))
    model.train()
    assert not model.backbone.training and model.classifier.training
    seen = []
    model.backbone.register_forward_hook(lambda module, inputs, output: seen.append(output.last_hidden_state))
    logits = model(pixel_values=torch.randn(2, 3, 32, 32)).logits
    assert seen[0].grad_fn is None and not seen[0].requires_grad  # no graph through the backbone
    assert logits.requires_grad


def test_freeze_backbone_is_the_linear_probe_and_conflicts_are_errors() -> None:
    assert ModelArguments(model_type="vit", freeze_backbone=True).tuning == "linear_probe"
    with pytest.raises(ConfigError, match="--freeze_backbone"):
        ModelArguments(model_type="vit", freeze_backbone=True, tuning="lora")
    with pytest.raises(ConfigError, match="--tuning"):
        ModelArguments(model_type="vit", tuning="bitfit")
    with pytest.raises(ConfigError, match="--lora_r"):
        ModelArguments(model_type="vit", tuning="lora", lora_r=0)


def test_tuning_modes_work_on_any_image_classifier() -> None:
    """A ViT (its own transformers head): LoRA targets its attention projections, the classifier trains."""
    overrides = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
                 "patch_size": 8}  # fmt: skip
    vit = lambda mode, **kw: build_model(  # noqa: E731
        ModelArguments(model_type="vit", image_size=32, config_overrides=overrides, tuning=mode, **kw)
    )[0]
    assert vit("lora", lora_r=RANK).config.tuning["trainable_parameters"] == 2 * 4 * RANK * 64 + HEAD
    assert (
        vit("lora", lora_r=RANK, lora_target_modules=["q_proj", "v_proj"]).config.tuning[
            "trainable_parameters"
        ]
        == 2 * 2 * RANK * 64 + HEAD
    )
    # ViT: 2 norms per layer + the final one
    assert vit("layernorm").config.tuning["trainable_parameters"] == 5 * 64 + HEAD
    with pytest.raises(ConfigError, match="no such linear"):
        vit("lora", lora_target_modules=["qkv"])
    with pytest.raises(ConfigError, match="--lora_save adapter"):
        vit("lora", lora_save="adapter")


def test_attention_pooling_adds_its_parameters_to_the_head(twins: dict[str, Path]) -> None:
    from tests.backbones.conftest import ATTENTION_POOL

    args = ModelArguments(
        model_name_or_path=str(twins["dinov3_vit"]), tuning="linear_probe", pooling="attention"
    )
    model, _ = build_model(args)
    assert model.config.tuning["trainable_parameters"] == ATTENTION_POOL + HEAD
    lora = build_model(
        ModelArguments(
            model_name_or_path=str(twins["dinov3_vit"]), tuning="lora", pooling="attention", lora_r=RANK
        )
    )[0]
    assert (
        lora.config.tuning["trainable_parameters"]
        == lora_parameters("dinov3_vit", RANK) + ATTENTION_POOL + HEAD
    )


@pytest.mark.parametrize("mode", ["linear_probe", "lora"])
def test_speed_switches_time_frozen_and_adapter_models(
    mode: str, twins: dict[str, Path], tmp_path, monkeypatch
):
    """The timed channels_last / NCHW candidates run real steps of a frozen / LoRA ConvNeXt V2 untouched."""
    from hf_aidetect.training import speed

    monkeypatch.setattr(speed, "_cache_path", lambda: tmp_path / "speed_cache.json")
    model, _ = build_model(
        ModelArguments(model_name_or_path=str(twins["convnextv2"]), tuning=mode, lora_r=RANK)
    )
    before = {name: p.detach().clone() for name, p in model.state_dict().items()}
    choice = speed.choose_speed_switches(
        model, torch.device("cpu"), 32, 4, channels_last="auto", steps=1, rounds=1
    )
    assert choice.source == "measured" and set(choice.seconds_per_step) == {
        "channels_last=False,bf16=False",
        "channels_last=True,bf16=False",
    }
    assert all(torch.equal(before[name], value) for name, value in model.state_dict().items())


def test_a_saved_probe_explains_and_thaws_when_tuned_further(twins: dict[str, Path], tmp_path: Path) -> None:
    probe, _ = build_model(ModelArguments(model_name_or_path=str(twins["clip"]), tuning="linear_probe"))
    probe.eval()  # inference: gradients reach the pixels (Grad-CAM, attention rollout, saliency)
    pixels = torch.randn(1, 3, 32, 32, requires_grad=True)
    probe(pixel_values=pixels).logits[0, 1].backward()
    assert pixels.grad is not None and pixels.grad.abs().sum() > 0
    probe.save_pretrained(tmp_path / "probe")
    full, _ = build_model(ModelArguments(model_name_or_path=str(tmp_path / "probe"), tuning="full"))
    full.train()
    assert not full.config.frozen_backbone and full.backbone.training
    assert full.config.tuning["trainable_parameters"] == full.config.tuning["total_parameters"]
