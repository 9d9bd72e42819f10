"""The seed CNN behaves like transformers' own image classifiers (issue 11, defect 9): the loss follows
``config.problem_type`` with the same automatic inference as ``ViTForImageClassification``, and gradient
(activation) checkpointing works, with the same outputs and gradients as without it.

The problem-type cases are those of transformers' ``ModelTesterMixin.test_problem_types``; the reference
losses come from ViT itself on the same logits, so any drift in transformers shows up here.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from torch import nn
from transformers import AutoModelForImageClassification, ViTConfig, ViTForImageClassification

from hf_aidetect.models import SeedCNNConfig, SeedCNNForImageClassification

# (problem_type, num_labels, label dtype): transformers' test_problem_types.
PROBLEM_TYPES = [
    ("multi_label_classification", 2, torch.float),
    ("single_label_classification", 1, torch.long),
    ("regression", 1, torch.float),
]


def _labels(batch: int, num_labels: int, dtype: torch.dtype) -> torch.Tensor:
    labels = torch.zeros(batch, dtype=torch.long)
    if num_labels > 1 and dtype.is_floating_point:
        labels = labels.unsqueeze(1).repeat(1, num_labels)
    return labels.to(dtype)


def _cnn(num_labels: int = 2, problem_type: str | None = None, **overrides) -> SeedCNNForImageClassification:
    config = SeedCNNConfig(image_size=96, num_labels=num_labels, **overrides)
    config.problem_type = problem_type
    return SeedCNNForImageClassification(config)


def _vit_loss(
    logits: torch.Tensor, labels: torch.Tensor, problem_type: str | None
) -> tuple[torch.Tensor, str]:
    """transformers' own loss for these logits (ViT's loss_function, problem_type inference included)."""
    config = ViTConfig(num_labels=logits.shape[-1])
    config.problem_type = problem_type
    vit = ViTForImageClassification.__new__(ViTForImageClassification)  # only its loss machinery is used
    nn.Module.__init__(vit)
    vit.config, vit.loss_type = config, "ForImageClassification"
    return vit.loss_function(labels, logits, config), config.problem_type


@pytest.mark.parametrize(("problem_type", "num_labels", "dtype"), PROBLEM_TYPES)
def test_problem_types_like_transformers(problem_type: str, num_labels: int, dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    model = _cnn(num_labels, problem_type).train()
    labels = _labels(4, num_labels, dtype)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = model(torch.randn(4, 3, 96, 96), labels=labels)
    assert not [w for w in caught if "target size that is different to the input size" in str(w.message)]
    out.loss.backward()
    expected, _ = _vit_loss(out.logits.detach(), labels, problem_type)
    assert torch.allclose(out.loss.detach(), expected)


@pytest.mark.parametrize(
    ("num_labels", "dtype", "inferred"),
    [(1, torch.float, "regression"), (2, torch.long, "single_label_classification"),
     (3, torch.float, "multi_label_classification")],
)  # fmt: skip
def test_problem_type_is_inferred_like_transformers(
    num_labels: int, dtype: torch.dtype, inferred: str
) -> None:
    model = _cnn(num_labels)
    labels = _labels(4, num_labels, dtype)
    out = model(torch.randn(4, 3, 96, 96), labels=labels)
    expected, vit_inferred = _vit_loss(out.logits.detach(), labels, None)
    assert model.config.problem_type == vit_inferred == inferred
    assert torch.allclose(out.loss.detach(), expected)


def test_class_weights_are_for_single_label_classification() -> None:
    model = _cnn(2, "regression", class_weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="class_weights apply to single-label classification only"):
        model(torch.randn(2, 3, 96, 96), labels=torch.zeros(2, 2))


def test_problem_type_survives_save_and_load(tmp_path: Path) -> None:
    model = _cnn(1, "regression").eval()
    model.save_pretrained(tmp_path)
    loaded = AutoModelForImageClassification.from_pretrained(tmp_path).eval()
    assert loaded.config.problem_type == "regression"
    pixels, labels = torch.randn(3, 3, 96, 96), torch.tensor([0.5, -1.0, 2.0])
    assert torch.equal(model(pixels, labels=labels).loss, loaded(pixels, labels=labels).loss)


def _step(
    model: SeedCNNForImageClassification, seed: int = 0
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    torch.manual_seed(seed)
    model.zero_grad()
    out = model(torch.randn(4, 3, 96, 96), labels=torch.tensor([0, 1, 1, 0]))
    out.loss.backward()
    return out.logits.detach(), {name: p.grad.clone() for name, p in model.named_parameters()}


def test_gradient_checkpointing_gives_the_same_outputs_and_gradients() -> None:
    assert SeedCNNForImageClassification.supports_gradient_checkpointing
    torch.manual_seed(1)
    model = _cnn(dropout=0.25).train()  # dropout: the recomputation must replay the same masks
    logits, grads = _step(model)
    calls = []
    hooks = [block.conv.register_forward_hook(lambda *args: calls.append(1)) for block in model.blocks]
    model.activation_checkpointing_enable()
    assert model.is_activation_checkpointing and all(block.gradient_checkpointing for block in model.blocks)
    checkpointed_logits, checkpointed_grads = _step(model)
    assert len(calls) == 2 * len(model.blocks)  # each block ran again in the backward pass
    assert torch.equal(logits, checkpointed_logits)
    for name, grad in grads.items():
        assert torch.allclose(grad, checkpointed_grads[name], atol=1e-7), name
    model.activation_checkpointing_disable()
    calls.clear()
    _step(model)
    assert len(calls) == len(model.blocks)
    for hook in hooks:
        hook.remove()
