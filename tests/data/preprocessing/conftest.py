"""Images of mixed sizes (smaller than, equal to and larger than the input) and formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.utils import write_rgb_jpeg, write_rgb_png

SIZE = 24
SHAPES = [(48, 32), (24, 24), (17, 30), (40, 56), (11, 9), (25, 23)]  # (width, height)


@pytest.fixture
def image_paths(tmp_path: Path) -> list[Path]:
    paths = []
    for i, shape in enumerate(SHAPES):
        writer = write_rgb_jpeg if i % 2 == 0 else write_rgb_png
        paths.append(writer(tmp_path / f"{i}.{'jpg' if i % 2 == 0 else 'png'}", size=shape, seed=i))
    return paths


@pytest.fixture
def images(image_paths: list[Path]) -> list[dict]:
    """Undecoded image dicts (what a datasets Image(decode=False) column holds)."""
    return [{"path": str(path), "bytes": None} for path in image_paths]


def batch_of(images: list, labels: bool = True) -> dict:
    out = {"image": list(images)}
    if labels:
        out["label"] = [i % 2 for i in range(len(images))]
    return out
