"""The report's explanation gallery: most confident real, most confident fake, and the worst errors."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from datasets import Dataset
from PIL import Image

from hf_aidetect.inference.explain import METHOD_NAMES, explain_image, overlay_heatmap
from hf_aidetect.inference.loading import Detector
from hf_aidetect.inference.plots import GalleryItem, plot_gallery

logger = logging.getLogger(__name__)

GALLERY_IMAGE_SIDE = 256  # larger images are shrunk for display only (after explaining at full size)


def select_gallery(
    labels: np.ndarray, scores: np.ndarray, threshold: float, num_errors: int = 4
) -> list[tuple[str, int]]:
    """``(title, row index)`` pairs: most confident correct real, most confident correct fake, then up to
    ``num_errors`` misclassified rows, the most confidently wrong first (largest distance to the threshold).
    """
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    predicted = (scores >= threshold).astype(int)
    chosen: list[tuple[str, int]] = []
    correct_real = np.flatnonzero((labels == 0) & (predicted == 0))
    if correct_real.size:
        chosen.append(("most confident real", int(correct_real[np.argmin(scores[correct_real])])))
    correct_fake = np.flatnonzero((labels == 1) & (predicted == 1))
    if correct_fake.size:
        chosen.append(("most confident fake", int(correct_fake[np.argmax(scores[correct_fake])])))
    wrong = np.flatnonzero(labels != predicted)
    worst = wrong[np.argsort(-np.abs(scores[wrong] - threshold), kind="stable")][:num_errors]
    for rank, index in enumerate(worst, start=1):
        kind = "real called fake" if labels[index] == 0 else "fake called real"
        chosen.append((f"error #{rank}: {kind}", int(index)))
    return chosen


def _thumbnail(image: Image.Image) -> Image.Image:
    image = image.copy()
    image.thumbnail((GALLERY_IMAGE_SIDE, GALLERY_IMAGE_SIDE), Image.Resampling.LANCZOS)
    return image


def build_gallery(
    detector: Detector,
    dataset: Dataset,
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    path: str | Path,
    *,
    num_errors: int = 4,
    method: str = "auto",
) -> Path | None:
    """Explain the selected rows of ``dataset`` and write the gallery PNG; ``None`` when nothing to show."""
    from hf_aidetect.data.images import load_rgb

    selection = select_gallery(labels, scores, threshold, num_errors)
    if not selection:
        logger.warning("No images to show in the explanation gallery")
        return None
    items = []
    used_method, cropped = method, False
    for title, index in selection:
        image = load_rgb(dataset[index]["image"])
        explanation = explain_image(detector, image, method=method, threshold=threshold)
        used_method = explanation.method
        cropped = cropped or explanation.region != (0, 0, *image.size)
        overlay = overlay_heatmap(image, explanation.heatmap, region=explanation.region)
        true_name = "fake" if labels[index] == 1 else "real"
        explained = "fake" if scores[index] >= threshold else "real"
        caption = f"true {true_name} · P(fake) = {scores[index]:.3f}\nmap: evidence for '{explained}'"
        items.append(GalleryItem(title, _thumbnail(image), _thumbnail(overlay), caption))
    name = METHOD_NAMES.get(used_method, used_method)
    suptitle = f"What drives the decision ({name}; red = strongest evidence; threshold {threshold:.3f})"
    if not any(title.startswith("error") for title, _ in selection):
        suptitle += "\nno misclassified images in this split"
    if cropped:
        suptitle += "\ngrey: parts of the image cropped away by preprocessing (not seen by the model)"
    return plot_gallery(items, path, suptitle=suptitle)
