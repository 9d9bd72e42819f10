"""A training-free reference for the cross-generator rows: how far "fakes are smoother" alone goes.

Every suite generator re-synthesises a degraded copy, so its fakes carry less fine texture than the reals.
The score is minus the log variance of the 4-neighbour Laplacian of the grey image (higher = smoother =
more likely fake). Its AP on a held-out family says how much of that family a generic smoothness cue
already separates, so a detector's AP can be read against it: near it means the detector transferred
little more than smoothness, well above it means it found the family's own trace.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.metrics import average_precision_score

from benchmarks.quality.views import FAKE, splits_root

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def smoothness_score(pixels: np.ndarray) -> float:
    """Minus log variance of the Laplacian of ``pixels`` (grey ``[H, W]`` or RGB ``[H, W, 3]``)."""
    grey = pixels.astype(np.float64)
    if grey.ndim == 3:
        grey = grey @ np.array([0.299, 0.587, 0.114])
    centre = grey[1:-1, 1:-1]
    laplacian = 4 * centre - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - grey[1:-1, 2:]
    return -float(np.log(laplacian.var() + 1e-6))


def _scores(folder: Path) -> list[float]:
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    scores = []
    for path in paths:
        with Image.open(path) as image:
            scores.append(smoothness_score(np.asarray(image.convert("RGB"))))
    return scores


def smoothness_ap(dataset: Path, split: str = "test") -> float | None:
    """AP of :func:`smoothness_score` for fake (positive) vs real on ``split``; None without both classes."""
    root = splits_root(dataset) / split
    real, fake = _scores(root / "real"), _scores(root / FAKE)
    if not real or not fake:
        return None
    labels = [0] * len(real) + [1] * len(fake)
    return float(average_precision_score(labels, real + fake))
