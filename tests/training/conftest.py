"""Tiny, learnable image data and tiny models for the training tests (32 px, a few dozen images)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
TINY_VIT = {
    "model_type": "vit",
    "image_size": 32,
    "config_overrides": {
        "patch_size": 8,
        "hidden_size": 16,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 32,
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
    },
}
TINY_CNN = {
    "model_type": "seed_cnn",
    "image_size": 32,
    "config_overrides": {"conv_channels": [4, 8], "hidden_sizes": [16], "dropout": 0.0},
}
FAST = {
    "per_device_train_batch_size": 8,
    "per_device_eval_batch_size": 16,
    "learning_rate": 0.01,
    "logging_steps": 1,
    "disable_tqdm": True,
    "dataloader_num_workers": 0,
    "write_model_card": False,
    "evaluation_report": False,  # the end-of-run report is tested where it is asked for
    "validate_images": False,
    "augment": False,
    "channels_last": "false",  # no timing of speed switches (tests/training/test_speed.py covers it)
    "seed": 0,
}


def _face(rng: np.random.Generator, fake: bool, size: int) -> Image.Image:
    """Smooth colour gradients ("real") vs the same plus a fine checkerboard ("fake"): easy to learn."""
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([x, y, (x + y) / 2], axis=-1) * rng.uniform(80, 200, 3) + rng.uniform(0, 40, 3)
    if fake:
        base += 40.0 * (((np.indices((size, size)).sum(axis=0)) % 2)[..., None] - 0.5)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def write_tiny_dataset(root: Path, counts: dict[str, dict[str, int]], size: int = 32, seed: int = 0) -> Path:
    """``root/<split>/<real|fake>/*.png`` with the given per-split, per-class counts."""
    rng = np.random.default_rng(seed)
    for split, per_class in counts.items():
        for label, n in per_class.items():
            folder = root / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(n):
                _face(rng, label == "fake", size).save(folder / f"{index:03d}.png")
    return root


def _counts(*pairs: tuple[int, int]) -> dict[str, dict[str, int]]:
    return {
        split: {"real": real, "fake": fake} for split, (real, fake) in zip(("train", "valid", "test"), pairs)
    }


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Balanced: train 16+16, valid 6+6, test 8+8."""
    counts = {
        "train": {"real": 16, "fake": 16},
        "valid": {"real": 6, "fake": 6},
        "test": {"real": 8, "fake": 8},
    }
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny_data"), counts)


@pytest.fixture(scope="session")
def tuning_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Train 16+16, valid 50+50 (enough to tune a threshold on), test 8+8."""
    counts = {
        "train": {"real": 16, "fake": 16},
        "valid": {"real": 50, "fake": 50},
        "test": {"real": 8, "fake": 8},
    }
    return write_tiny_dataset(tmp_path_factory.mktemp("tuning_data"), counts, seed=2)


@pytest.fixture(scope="session")
def imbalanced_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Train 24 real / 8 fake."""
    counts = {
        "train": {"real": 24, "fake": 8},
        "valid": {"real": 4, "fake": 4},
        "test": {"real": 4, "fake": 4},
    }
    return write_tiny_dataset(tmp_path_factory.mktemp("imbalanced"), counts, seed=1)


def recipe_args(data: Path, output_dir: Path, model: dict, **overrides):
    """(script, training, model) dataclasses for a tiny run, through the same parser as the recipes."""
    from hf_aidetect.training.config import parse_dict_args

    values = {"dataset": str(data), "output_dir": str(output_dir), **model, **FAST, **overrides}
    return parse_dict_args(values)


CHECKPOINT_FILES = ("trainer_state.json", "optimizer.pt", "scheduler.pt", "rng_state.pth")


def write_checkpoint(folder: Path, step: int = 1, skip: tuple[str, ...] = ()) -> Path:
    """A checkpoint folder as ``Trainer`` writes it (tiny seed CNN weights, state, optimizer, scheduler,
    RNG), minus the files named in ``skip``; for resume-selection tests that need no training run."""
    import json

    import torch

    from hf_aidetect.models import SeedCNNConfig, SeedCNNForImageClassification

    config = SeedCNNConfig(image_size=32, conv_channels=[4], hidden_sizes=[8], dropout=0.0)
    SeedCNNForImageClassification(config).save_pretrained(folder)
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step, "log_history": []}))
    for name in CHECKPOINT_FILES[1:]:
        torch.save({"step": step}, folder / name)
    for name in skip:
        (folder / name).unlink()
    return folder


@pytest.fixture(scope="session")
def packed_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``hf-aidetect pack`` output of a 40+40 / 10+10 / 10+10 set: 2 train shards, 1 per eval split."""
    from hf_aidetect.data.pack import PackOptions, pack_dataset

    counts = {
        "train": {"real": 40, "fake": 40},
        "valid": {"real": 10, "fake": 10},
        "test": {"real": 10, "fake": 10},
    }
    folder = write_tiny_dataset(tmp_path_factory.mktemp("stream_folder"), counts, seed=3)
    out = tmp_path_factory.mktemp("stream_pack") / "shards"
    pack_dataset(folder, out, PackOptions(shard_size=12_000, num_workers=1), progress=False)
    return out
