"""Model test fixtures: a saved small seed CNN and tiny ViT (with image processors), PIL images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hf_aidetect.models import ModelArguments, build_model

TINY_VIT_OVERRIDES = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "patch_size": 8,
}


def random_images(count: int = 3, size: tuple[int, int] = (48, 40), seed: int = 0) -> list[Image.Image]:
    """Small RGB images of noise, deliberately not square and not the model's size."""
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (*size[::-1], 3), dtype=np.uint8)) for _ in range(count)]


def _save(model_args: ModelArguments, folder: Path) -> Path:
    model, processor = build_model(model_args)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def saved_cnn_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save(ModelArguments(model_type="seed_cnn", image_size=96), tmp_path_factory.mktemp("cnn"))


@pytest.fixture(scope="session")
def saved_vit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    args = ModelArguments(model_type="vit", config_overrides=dict(TINY_VIT_OVERRIDES), image_size=32)
    return _save(args, tmp_path_factory.mktemp("vit"))
