"""Tiny twins of every backbone family (2 layers, hidden size 32, random weights), saved once per session.

Each twin is saved as its Hub checkpoint is (full CLIP / SigLIP / SigLIP 2 with the text tower, DINO base
models, a ConvNeXt V2 classifier), so training from a twin folder exercises the real loading path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hf_aidetect.models.backbones.twins import FAMILIES, write_twin
from tests.publishing.conftest import hub  # noqa: F401  (the local Hub server, shared with publishing)

# Expected trainable parameters of each twin (hidden 32, 2 layers, patch 8, 32 px), written out by hand
# from the architectures, independently of the code that counts them. D = 32.
D = 32
HEAD = 2 * D + 2  # Linear(32, 2) with a bias
ATTENTION_POOL = D + (3 * D * D + 3 * D) + (D * D + D)  # query + in_proj + out_proj
LAYER_NORM = 2 * D  # scale + shift
NORMS = {  # every LayerNorm of each backbone, scale + shift
    "clip": (1 + 2 * 2 + 1) * LAYER_NORM,  # pre_layrnorm, 2 per layer, post_layernorm
    "siglip": (2 * 2 + 1 + 1) * LAYER_NORM,  # 2 per layer, post_layernorm, the MAP head's norm
    "siglip2": (2 * 2 + 1 + 1) * LAYER_NORM,
    "dinov2": (2 * 2 + 1) * LAYER_NORM,  # 2 per layer, final norm
    "dinov2_with_registers": (2 * 2 + 1) * LAYER_NORM,
    "dinov3_vit": (2 * 2 + 1) * LAYER_NORM,
    # stem LN(16), stage-0 layer LN(16), stage-1 downsample LN(16) + layer LN(32), final LN(32)
    "convnextv2": 3 * 2 * 16 + 2 * 2 * 32,
}


def lora_parameters(family: str, rank: int) -> int:
    """r * (in + out) for every adapted layer: q, k, v, output projections of 2 layers; ConvNeXt's MLPs."""
    if family == "convnextv2":  # pwconv1 (d -> 4d) and pwconv2 (4d -> d) in each of the 2 stages
        return sum(2 * rank * (d + 4 * d) for d in (16, 32))
    return 2 * 4 * rank * (D + D)


@pytest.fixture(scope="session")
def twins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("twins")
    return {family: write_twin(family, root / family) for family in FAMILIES}


@pytest.fixture(scope="session")
def pixel_batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Four batches of normalised 32 px images: gradients ("real") vs gradients + a checkerboard ("fake")."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:32, 0:32] / 32
    batches = []
    for _ in range(4):
        labels = torch.tensor([0, 1, 0, 1])
        images = []
        for label in labels.tolist():
            image = np.stack([x, y, (x + y) / 2]) * rng.uniform(0.3, 0.8, (3, 1, 1))
            if label:
                image = image + 0.15 * ((np.indices((32, 32)).sum(axis=0) % 2) - 0.5)
            images.append((image - 0.5) / 0.5)
        batches.append((torch.tensor(np.stack(images), dtype=torch.float32), labels))
    return batches


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Balanced 32 px faces: train 16+16, valid 6+6, test 8+8 (as in tests/training)."""
    from tests.training.conftest import write_tiny_dataset

    counts = {
        "train": {"real": 16, "fake": 16},
        "valid": {"real": 6, "fake": 6},
        "test": {"real": 8, "fake": 8},
    }
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny_data"), counts)
