"""The training-free smoothness reference of the cross-generator rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from benchmarks.quality.smoothness import smoothness_ap, smoothness_score


def _textured(rng: np.random.Generator, size: int = 48) -> Image.Image:
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def test_score_ranks_smoother_images_higher():
    rng = np.random.default_rng(0)
    sharp = _textured(rng)
    soft = sharp.filter(ImageFilter.GaussianBlur(1.5))
    assert smoothness_score(np.asarray(soft)) > smoothness_score(np.asarray(sharp))
    grey = np.asarray(sharp.convert("L"))
    assert np.isfinite(smoothness_score(grey)) and np.isfinite(smoothness_score(np.zeros((8, 8))))


def _write(folder: Path, images: list[Image.Image]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(images):
        image.save(folder / f"{index:03d}.png")


def test_ap_on_a_kaggle_layout_test_split(tmp_path: Path):
    rng = np.random.default_rng(1)
    test = tmp_path / "real_vs_fake" / "real-vs-fake" / "test"
    reals = [_textured(rng) for _ in range(6)]
    _write(test / "real", reals)
    _write(test / "fake" / "blurry", [_textured(rng).filter(ImageFilter.GaussianBlur(1.5)) for _ in range(6)])
    assert smoothness_ap(tmp_path) == 1.0  # every blurred fake scores above every textured real
    _write(tmp_path / "swapped" / "test" / "real", [i.filter(ImageFilter.GaussianBlur(1.5)) for i in reals])
    _write(tmp_path / "swapped" / "test" / "fake", [_textured(rng) for _ in range(6)])
    assert smoothness_ap(tmp_path / "swapped") < 0.5  # fakes sharper than reals: the cue points the wrong way
    assert smoothness_ap(tmp_path, split="train") is None  # no such split: no classes, no AP
