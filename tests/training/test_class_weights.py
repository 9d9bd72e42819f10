"""Class-weighted loss: ``auto`` = inverse train frequency (mean sample weight 1), applied in compute_loss."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hf_aidetect.errors import ConfigError
from hf_aidetect.training.runner import build_trainer
from hf_aidetect.training.trainer import compute_class_weights, resolve_class_weights
from tests.training.conftest import TINY_CNN, recipe_args


def test_auto_weights_are_balanced_inverse_frequency() -> None:
    weights = compute_class_weights({"real": 30, "fake": 10})
    assert weights == pytest.approx([40 / 60, 40 / 20])
    assert (30 * weights[0] + 10 * weights[1]) / 40 == pytest.approx(1.0)
    assert resolve_class_weights("none", {"real": 3, "fake": 1}) is None
    assert resolve_class_weights([1, 3], {}) == [1.0, 3.0]
    with pytest.raises(ConfigError, match="fake"):
        compute_class_weights({"real": 5, "fake": 0})


def test_trainer_uses_auto_weights_in_its_loss(imbalanced_data: Path, tmp_path: Path) -> None:
    setup = build_trainer(*recipe_args(imbalanced_data, tmp_path / "out", TINY_CNN, class_weights="auto"))
    trainer, report = setup.trainer, setup.load_report
    assert report.summary.counts["train"] == {"real": 24, "fake": 8}
    assert trainer.class_weights.tolist() == pytest.approx([32 / 48, 32 / 16])

    batch = {"pixel_values": torch.randn(6, 3, 32, 32), "labels": torch.tensor([0, 0, 0, 0, 1, 1])}
    model = trainer.model.eval()
    loss = trainer.compute_loss(model, dict(batch))
    logits = model(pixel_values=batch["pixel_values"]).logits
    per_sample = torch.nn.functional.cross_entropy(logits, batch["labels"], reduction="none")
    weighted = trainer.class_weights[batch["labels"]] * per_sample
    # sum(w_i * ce_i) / n: the unbiased (mean weight 1) form that stays exact under accumulation / DDP.
    assert loss.item() == pytest.approx(weighted.sum().item() / 6, rel=1e-5)
    assert loss.item() != pytest.approx(per_sample.mean().item(), rel=1e-3)
