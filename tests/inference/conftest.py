"""Tiny saved models (ViT and seed CNN, random init, seeded) and image folders for the inference tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hf_aidetect.data.labels import ID2LABEL, LABEL2ID
from tests.utils import write_rgb_jpeg, write_rgb_png


def save_tiny_vit(folder: Path, seed: int = 0) -> Path:
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(seed)
    config = ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=2,
        id2label=dict(ID2LABEL),
        label2id=dict(LABEL2ID),
    )
    ViTForImageClassification(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def save_tiny_cnn(folder: Path, seed: int = 0) -> Path:
    from transformers import ViTImageProcessor

    from hf_aidetect.models import SeedCNNConfig, SeedCNNForImageClassification

    torch.manual_seed(seed)
    config = SeedCNNConfig(
        image_size=32,
        conv_channels=[8, 16],
        kernel_size=3,
        stride=1,
        padding=1,
        pool_size=2,
        hidden_sizes=[16],
    )
    SeedCNNForImageClassification(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models gain nothing from intra-op threads; on a busy shared CI box they spin and crawl."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_vit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_vit(tmp_path_factory.mktemp("tiny_vit"))


@pytest.fixture(scope="session")
def tiny_cnn_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_cnn(tmp_path_factory.mktemp("tiny_cnn"))


@pytest.fixture
def good_images(tmp_path: Path) -> list[Path]:
    """Five decodable images of different sizes and formats."""
    folder = tmp_path / "good"
    return [
        write_rgb_jpeg(folder / "a.jpg", 40, seed=1),
        write_rgb_png(folder / "b.png", 32, seed=2),
        write_rgb_jpeg(folder / "c.jpg", (48, 36), seed=3),
        write_rgb_png(folder / "sub" / "d.png", 64, seed=4),
        write_rgb_jpeg(folder / "sub" / "e.jpeg", 33, seed=5),
    ]
