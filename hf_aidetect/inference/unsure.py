"""An "unsure" answer for images the detector cannot decide reliably (``hf-aidetect predict --unsure``).

An image is **unsure** when either

* its score is close to the threshold: the model's odds of fake are within a factor ``odds`` (default 3) of
  the threshold's odds, i.e. ``|logit(P(fake)) - logit(threshold)| < ln(odds)``. At threshold 0.5 and
  odds 3 that is 0.25 < P(fake) < 0.75; at threshold 0.9, 0.75 < P(fake) < 0.964; or
* its decision flips under a small, everyday degradation: a JPEG re-encode at quality 75, or a x0.5
  downscale and back up (the robustness perturbations ``jpeg_q75`` and ``downscale_x0.5``).

The row keeps the threshold decision in ``decision`` and says why in ``unsure_reason``. The check scores
every readable image twice more (once per degradation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from hf_aidetect.errors import ConfigError
from hf_aidetect.inference.loading import Detector
from hf_aidetect.inference.predict import PredictionRow, predict_files
from hf_aidetect.inference.threshold import logit, sigmoid

DEFAULT_ODDS = 3.0
DEGRADATIONS = ("jpeg_q75", "downscale_x0.5")
UNSURE = "unsure"


def unsure_band(threshold: float, odds: float = DEFAULT_ODDS) -> tuple[float, float]:
    """The open interval of P(fake) called unsure around ``threshold`` (see the module doc)."""
    if odds < 1.0:
        raise ConfigError(f"--unsure-odds must be >= 1 (1 turns the band off), got {odds}")
    centre, width = logit(threshold), math.log(odds)
    return sigmoid(centre - width), sigmoid(centre + width)


class PerturbedTransform:
    """The eval transform applied after a named robustness perturbation (picklable for loader workers)."""

    def __init__(self, transform, perturbation: str) -> None:
        self.transform = transform
        self.perturbation = perturbation

    def __call__(self, batch: dict) -> dict:
        from hf_aidetect.data.images import load_rgb
        from hf_aidetect.inference.robustness import PERTURBATIONS

        perturb = PERTURBATIONS[self.perturbation]
        return self.transform({"image": [perturb(load_rgb(image)) for image in batch["image"]]})


def mark_unsure(
    detector: Detector,
    rows: Sequence[PredictionRow],
    *,
    threshold: float,
    odds: float = DEFAULT_ODDS,
    batch_size: int = 32,
    num_workers: int | None = None,
    progress: bool = False,
) -> list[PredictionRow]:
    """``rows`` (from :func:`predict_files` at ``threshold``) with unsure ones relabelled ``"unsure"``."""
    low, high = unsure_band(threshold, odds)
    good = [row for row in rows if not row.error]
    flipped: dict[str, list[str]] = {row.path: [] for row in good}
    for name in DEGRADATIONS:
        perturbed = replace(detector, transform=PerturbedTransform(detector.transform, name))
        degraded = predict_files(
            perturbed, [row.path for row in good], threshold=threshold, batch_size=batch_size,
            num_workers=num_workers, progress=progress,
        )  # fmt: skip
        for clean, other in zip(good, degraded):
            if other.label is not None and other.label != clean.label:
                flipped[clean.path].append(name)
    marked = []
    for row in rows:
        if row.error:
            marked.append(row)
            continue
        reasons = []
        if low < float(row.fake_score) < high:
            reasons.append(f"near the threshold ({low:.3f} < P(fake) < {high:.3f})")
        if flipped[row.path]:
            reasons.append("flips under " + " and ".join(flipped[row.path]))
        label = UNSURE if reasons else row.label
        marked.append(replace(row, label=label, decision=row.label, unsure_reason="; ".join(reasons)))
    return marked
