"""Report figures as PNG files (matplotlib, non-interactive Agg backend).

Every function takes plain arrays, writes one PNG and returns its path, so the figures are testable
without a model. Fake is the positive class throughout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # never open a window, also on machines without a display

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image
from sklearn.metrics import auc, precision_recall_curve, roc_curve

CLASS_NAMES = ("real", "fake")
COLOURS = {"real": "#2b83ba", "fake": "#d7191c"}
DPI = 120


def _save(figure: plt.Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI, bbox_inches="tight", facecolor="white")
    plt.close(figure)
    return path


def plot_confusion_matrix(matrix: Sequence[Sequence[int]], path: str | Path, threshold: float) -> Path:
    """Counts with row-normalised percentages (rows = true class, columns = predicted class)."""
    counts = np.asarray(matrix, dtype=float)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    figure, axis = plt.subplots(figsize=(4.6, 4.0))
    axis.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for row in range(2):
        for col in range(2):
            colour = "white" if rates[row, col] > 0.5 else "black"
            text = f"{int(counts[row, col])}\n{rates[row, col]:.1%}"
            axis.text(col, row, text, ha="center", va="center", color=colour, fontsize=12)
    axis.set_xticks([0, 1], [f"predicted {name}" for name in CLASS_NAMES])
    axis.set_yticks([0, 1], [f"true {name}" for name in CLASS_NAMES])
    axis.set_title(f"Confusion matrix (threshold {threshold:.3f})")
    return _save(figure, path)


def _operating_point(labels: np.ndarray, scores: np.ndarray, threshold: float) -> tuple[float, float, float]:
    predicted = scores >= threshold
    fpr = float(predicted[labels == 0].mean()) if (labels == 0).any() else float("nan")
    tpr = float(predicted[labels == 1].mean()) if (labels == 1).any() else float("nan")
    precision = float(labels[predicted].mean()) if predicted.any() else 1.0
    return fpr, tpr, precision


def plot_roc_curve(
    labels: Sequence[int], scores: Sequence[float], path: str | Path, threshold: float
) -> Path:
    """ROC curve with its AUC and the operating point at ``threshold``."""
    y, s = np.asarray(labels), np.asarray(scores, dtype=float)
    fpr, tpr, _ = roc_curve(y, s)
    point_fpr, point_tpr, _ = _operating_point(y, s, threshold)
    figure, axis = plt.subplots(figsize=(5.0, 4.4))
    axis.plot(fpr, tpr, color=COLOURS["fake"], lw=2, label=f"ROC (AUC = {auc(fpr, tpr):.4f})")
    axis.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance")
    axis.scatter([point_fpr], [point_tpr], color="black", zorder=3, label=f"threshold {threshold:.3f}")
    axis.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), xlabel="False positive rate (real called fake)")
    axis.set_ylabel("True positive rate (fake recall)")
    axis.set_title("ROC curve (fake = positive)")
    axis.legend(loc="lower right")
    axis.grid(alpha=0.3)
    return _save(figure, path)


def plot_pr_curve(labels: Sequence[int], scores: Sequence[float], path: str | Path, threshold: float) -> Path:
    """Precision-recall curve for the fake class with average precision and the operating point."""
    from sklearn.metrics import average_precision_score

    y, s = np.asarray(labels), np.asarray(scores, dtype=float)
    precision, recall, _ = precision_recall_curve(y, s)
    _, point_recall, point_precision = _operating_point(y, s, threshold)
    figure, axis = plt.subplots(figsize=(5.0, 4.4))
    ap = average_precision_score(y, s)
    axis.step(recall, precision, where="post", color=COLOURS["fake"], lw=2, label=f"AP = {ap:.4f}")
    axis.axhline(float(y.mean()), ls="--", color="grey", lw=1, label=f"chance ({y.mean():.2f})")
    axis.scatter(
        [point_recall], [point_precision], color="black", zorder=3, label=f"threshold {threshold:.3f}"
    )
    axis.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), xlabel="Recall (fake)", ylabel="Precision (fake)")
    axis.set_title("Precision-recall curve (fake = positive)")
    axis.legend(loc="lower left")
    axis.grid(alpha=0.3)
    return _save(figure, path)


def plot_score_histogram(
    labels: Sequence[int], scores: Sequence[float], path: str | Path, threshold: float
) -> Path:
    """Histograms of P(fake) per true class with the threshold marked.

    The x axis spans [0, 1] unless all scores sit in a narrow band (a weak or uncalibrated model); then
    it zooms onto the scores (and the threshold) so the two classes can be told apart.
    """
    y, s = np.asarray(labels), np.asarray(scores, dtype=float)
    figure, axis = plt.subplots(figsize=(5.6, 4.0))
    low, high = min(float(s.min()), threshold), max(float(s.max()), threshold)
    zoomed = high - low < 0.25
    if zoomed:
        margin = max((high - low) * 0.05, 1e-3)
        low, high = max(0.0, low - margin), min(1.0, high + margin)
    else:
        low, high = 0.0, 1.0
    bins = np.linspace(low, high, 41)
    for index, name in enumerate(CLASS_NAMES):
        values = s[y == index]
        axis.hist(values, bins=bins, alpha=0.6, color=COLOURS[name], label=f"true {name} (n={len(values)})")
    axis.axvline(threshold, color="black", ls="--", lw=1.5, label=f"threshold {threshold:.3f}")
    axis.set(
        xlim=(low, high), xlabel="P(fake)" + (" (zoomed onto the scores)" if zoomed else ""), ylabel="images"
    )
    axis.set_title("Score distribution per class")
    axis.legend(loc="best")
    return _save(figure, path)


def plot_reliability_diagram(calibration: dict, path: str | Path) -> Path:
    """Fraction of fakes per bin of P(fake) (bars), image counts below, ECE and Brier score in the title.

    ``calibration``: :func:`hf_aidetect.metrics.calibration.calibration_summary`.
    """
    bins = [entry for entry in calibration["bins"] if entry["count"]]
    figure, (axis, counts_axis) = plt.subplots(
        2, 1, figsize=(5.0, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    axis.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfectly calibrated")
    if bins:
        centres = [entry["mean_p_fake"] for entry in bins]
        widths = [entry["upper"] - entry["lower"] for entry in bins]
        lowers = [entry["lower"] for entry in bins]
        fractions = [entry["fraction_fake"] for entry in bins]
        style = {"color": COLOURS["fake"], "alpha": 0.35, "edgecolor": COLOURS["fake"]}
        axis.bar(lowers, fractions, width=widths, align="edge", label="fraction fake per bin", **style)
        axis.plot(centres, [entry["fraction_fake"] for entry in bins], "o-", color=COLOURS["fake"], lw=1.5)
        counts_axis.bar(
            lowers, [entry["count"] for entry in bins], width=widths, align="edge", color="#777777"
        )
    axis.set(xlim=(0, 1), ylim=(0, 1.02), ylabel="fraction of fakes")
    axis.set_title(
        f"Reliability of P(fake): ECE {calibration['ece']:.4f}, Brier {calibration['brier']:.4f}\n"
        f"{calibration['num_bins']} bins, {calibration['num_samples']} images"
    )
    axis.legend(loc="upper left")
    axis.grid(alpha=0.3)
    counts_axis.set(xlabel="P(fake)", ylabel="images")
    counts_axis.set_yscale("log" if bins and max(e["count"] for e in bins) > 100 else "linear")
    return _save(figure, path)


@dataclass
class GalleryItem:
    """One gallery column: the image, its heatmap overlay and a caption."""

    title: str
    image: Image.Image
    overlay: Image.Image
    caption: str


def plot_gallery(items: Sequence[GalleryItem], path: str | Path, suptitle: str = "") -> Path:
    """Images (top row) and their heatmap overlays (bottom row), one column per item."""
    columns = max(1, len(items))
    figure, axes = plt.subplots(2, columns, figsize=(2.8 * columns, 6.4), squeeze=False)
    for column, item in enumerate(items):
        top, bottom = axes[0, column], axes[1, column]
        top.imshow(item.image)
        top.set_title(item.title, fontsize=10, fontweight="bold")
        bottom.imshow(item.overlay)
        bottom.set_xlabel(item.caption, fontsize=9)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
    if items:
        axes[0, 0].set_ylabel("image", fontsize=10)
        axes[1, 0].set_ylabel("heatmap", fontsize=10)
    if suptitle:
        figure.suptitle(suptitle, fontsize=11)
    figure.tight_layout()
    return _save(figure, path)


def plot_explanation(
    image: Image.Image, overlay: Image.Image, title: str, path: str | Path, *, cropped: bool = False
) -> Path:
    """Side by side: the image and its heatmap overlay, with ``title`` above.

    ``cropped``: the model saw only part of the image (greyed out in ``overlay``); the panel says so.
    """
    figure, axes = plt.subplots(1, 2, figsize=(8.0, 4.4))
    heading = "what drives the decision" + (
        "\n(grey: cropped away, not seen by the model)" if cropped else ""
    )
    for axis, picture, name in zip(axes, (image, overlay), ("image", heading)):
        axis.imshow(picture)
        axis.set_title(name, fontsize=10)
        axis.set_xticks([])  # keep the frame: white image regions stay visible on the white page
        axis.set_yticks([])
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    return _save(figure, path)
