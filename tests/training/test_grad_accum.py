"""Gradient accumulation 2 x batch 4 gives the same loss and update as batch 8 (CNN, ViT, class-weighted).

The trap: a model whose forward takes ``**kwargs`` makes ``Trainer`` skip the division by the accumulation
steps unless the class sets ``accepts_loss_kwargs = False``; the loss and the update then double.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import set_seed

from hf_aidetect.models import build_model
from hf_aidetect.models.arguments import ModelArguments
from hf_aidetect.models.seed_cnn.modeling_seed_cnn import SeedCNNForImageClassification
from hf_aidetect.training.arguments import DetectionTrainingArguments
from hf_aidetect.training.trainer import DetectionTrainer
from tests.training.conftest import TINY_CNN, TINY_VIT


class TensorData(torch.utils.data.Dataset):
    """Eight fixed random images, alternating labels (3 real weighted differently from 5 fake below)."""

    def __init__(self, n: int = 8, size: int = 32) -> None:
        generator = torch.Generator().manual_seed(0)
        self.pixels = torch.randn(n, 3, size, size, generator=generator)
        self.labels = torch.tensor([0, 1, 1, 0, 1, 1, 0, 1])[:n]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"pixel_values": self.pixels[index], "labels": self.labels[index]}


def _one_update(spec: dict, tmp_path: Path, batch: int, accumulation: int, weights: list[float] | None):
    set_seed(0)
    model, _ = build_model(ModelArguments(**spec))
    args = DetectionTrainingArguments(
        output_dir=str(tmp_path / f"b{batch}x{accumulation}"),
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=accumulation,
        max_steps=1,
        learning_rate=0.5,
        optim="sgd",
        lr_scheduler_type="constant",
        weight_decay=0.0,
        max_grad_norm=0.0,
        eval_strategy="no",
        save_strategy="no",
        load_best_model_at_end=False,
        logging_steps=1,
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=0,
    )
    trainer = DetectionTrainer(model=model, args=args, train_dataset=TensorData(), class_weights=weights)
    before = {name: value.detach().clone() for name, value in model.state_dict().items()}
    loss = trainer.train().training_loss
    after = {name: value.detach().clone() for name, value in model.state_dict().items()}
    return before, after, loss


def _compare(spec: dict, tmp_path: Path, weights: list[float] | None) -> tuple[bool, float, float]:
    start, full, full_loss = _one_update(spec, tmp_path, 8, 1, weights)
    _, accumulated, accumulated_loss = _one_update(spec, tmp_path, 4, 2, weights)
    assert any(not torch.equal(start[name], full[name]) for name in start), "the update did nothing"
    same = all(torch.allclose(full[name], accumulated[name], rtol=1e-4, atol=1e-6) for name in full)
    return same, full_loss, accumulated_loss


@pytest.mark.parametrize("spec", [TINY_CNN, TINY_VIT], ids=["cnn", "vit"])
@pytest.mark.parametrize("weights", [None, [0.7, 1.9]], ids=["unweighted", "class_weighted"])
def test_accumulation_matches_full_batch(spec: dict, weights: list[float] | None, tmp_path: Path) -> None:
    same, full_loss, accumulated_loss = _compare(spec, tmp_path, weights)
    assert accumulated_loss == pytest.approx(full_loss, rel=1e-4)
    assert same, "2 x 4 accumulated update differs from the batch-8 update"


def test_the_check_catches_unscaled_loss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sanity: with the trap re-introduced (forward takes **kwargs, loss not normalized) the check fails."""
    original = SeedCNNForImageClassification.forward

    def forward(self, pixel_values=None, labels=None, **kwargs):  # swallows num_items_in_batch
        return original(self, pixel_values=pixel_values, labels=labels)

    monkeypatch.setattr(SeedCNNForImageClassification, "forward", forward)
    monkeypatch.setattr(
        SeedCNNForImageClassification, "accepts_loss_kwargs", True
    )  # as inferred from **kwargs
    same, full_loss, accumulated_loss = _compare(TINY_CNN, tmp_path, None)
    assert not same
    assert accumulated_loss == pytest.approx(2 * full_loss, rel=1e-3)
