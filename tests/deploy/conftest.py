"""Fixtures of the deploy tests: tiny saved detectors (seed CNN and ViT), their ONNX exports, demo images."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hf_aidetect.data.labels import ID2LABEL, LABEL2ID

SIDE = 32


def save_cnn(folder: Path, seed: int = 0, **config: object) -> Path:
    """A random-init seed CNN at 32 px with the crop-geometry processor training saves."""
    from hf_aidetect.data.preprocessing import InputSpec, crop_image_processor
    from hf_aidetect.models import SeedCNNConfig, SeedCNNForImageClassification

    torch.manual_seed(seed)
    model = SeedCNNForImageClassification(
        SeedCNNConfig(
            image_size=SIDE,
            conv_channels=[8, 16],
            kernel_size=3,
            stride=1,
            padding=1,
            pool_size=2,
            hidden_sizes=[16],
            id2label=dict(ID2LABEL),
            label2id=dict(LABEL2ID),
            **config,
        )
    )
    model.save_pretrained(folder)
    crop_image_processor(InputSpec(size=SIDE, mean=(0.5,) * 3, std=(0.5,) * 3)).save_pretrained(folder)
    return folder


def save_vit(folder: Path, seed: int = 0) -> Path:
    from transformers import ViTConfig, ViTForImageClassification

    from hf_aidetect.data.preprocessing import InputSpec, crop_image_processor

    torch.manual_seed(seed)
    config = ViTConfig(
        image_size=SIDE,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        id2label=dict(ID2LABEL),
        label2id=dict(LABEL2ID),
    )
    ViTForImageClassification(config).save_pretrained(folder)
    crop_image_processor(InputSpec(size=SIDE)).save_pretrained(folder)
    return folder


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def cnn_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_cnn(tmp_path_factory.mktemp("cnn"))


@pytest.fixture(scope="session")
def vit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_vit(tmp_path_factory.mktemp("vit"))


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded demo dataset, tiny (32 px, a few images per class and split)."""
    from hf_aidetect.data.demo import DemoDataOptions, write_demo_dataset

    options = DemoDataOptions(
        image_size=SIDE,
        train_per_class=4,
        valid_per_class=2,
        test_per_class=20,
        generator_steps=5,
        generator_crops=8,
        generator_width=8,
        num_threads=1,
    )
    return write_demo_dataset(tmp_path_factory.mktemp("demo"), options)


@pytest.fixture(scope="session")
def demo_test_images(demo_data: Path) -> dict[str, list[Path]]:
    from hf_aidetect.data.demo import KAGGLE_SUBDIR

    root = demo_data / KAGGLE_SUBDIR / "test"
    return {label: sorted((root / label).iterdir()) for label in ("real", "fake")}


@pytest.fixture(scope="session")
def cnn_export(cnn_dir: Path) -> Path:
    from hf_aidetect.deploy.onnx_export import export_onnx

    out, _ = export_onnx(cnn_dir)
    return out


@pytest.fixture(scope="session")
def vit_export(vit_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hf_aidetect.deploy.onnx_export import export_onnx

    out, _ = export_onnx(vit_dir, tmp_path_factory.mktemp("vit_onnx") / "export")
    return out


@pytest.fixture(scope="session")
def trained_cnn_dir(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny CNN fitted for a few seconds on the demo train split (full batch, plain torch loop), so
    the app shows a real and a fake answer rather than two coin flips."""
    from transformers import AutoImageProcessor

    from hf_aidetect.data.demo import KAGGLE_SUBDIR
    from hf_aidetect.data.preprocessing import eval_transform
    from hf_aidetect.models import SeedCNNForImageClassification

    folder = save_cnn(tmp_path_factory.mktemp("trained_cnn"), seed=1)
    model = SeedCNNForImageClassification.from_pretrained(folder)
    transform = eval_transform(AutoImageProcessor.from_pretrained(folder))
    root = demo_data / KAGGLE_SUBDIR
    paths = [
        (path, label)
        for label, name in enumerate(("real", "fake"))
        for split in ("train", "valid")
        for path in sorted((root / split / name).iterdir())
    ]
    pixels = transform({"image": [str(path) for path, _ in paths]})["pixel_values"]
    labels = torch.tensor([label for _, label in paths])
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(80):
        optimizer.zero_grad()
        model(pixel_values=pixels, labels=labels).loss.backward()
        optimizer.step()
    model.eval().save_pretrained(folder)
    return folder
