"""Each perturbation changes the image exactly as specified and keeps its size; the table renders."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageFilter

from hf_aidetect.inference.robustness import (
    PERTURBATIONS,
    downscale,
    gaussian_blur,
    jpeg,
    robustness_rows,
    write_robustness,
)
from tests.utils import rgb_array


@pytest.fixture
def image() -> Image.Image:
    return Image.fromarray(rgb_array((64, 48), seed=7))


def _array(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float64)


def _high_frequency_energy(image: Image.Image) -> float:
    """Mean squared difference between neighbouring pixels (a discrete gradient)."""
    values = _array(image)
    return float((np.diff(values, axis=0) ** 2).mean() + (np.diff(values, axis=1) ** 2).mean())


def test_jpeg_is_lossy_same_size_and_worse_at_lower_quality(image):
    errors = {}
    for quality in (95, 75, 50):
        out = jpeg(image, quality)
        assert out.size == image.size and out.mode == "RGB"
        errors[quality] = np.abs(_array(out) - _array(image)).mean()
        assert errors[quality] > 0
    assert errors[95] < errors[75] < errors[50]
    assert _array(image).shape == (48, 64, 3)  # input untouched


def test_downscale_keeps_size_and_removes_high_frequencies(image):
    out = downscale(image, 0.5)
    assert out.size == image.size and out.mode == "RGB"
    assert not np.array_equal(_array(out), _array(image))
    assert _high_frequency_energy(out) < 0.6 * _high_frequency_energy(image)


def test_blur_equals_pil_gaussian_blur(image):
    out = gaussian_blur(image, 1.0)
    expected = image.filter(ImageFilter.GaussianBlur(radius=1.0))
    assert out.size == image.size
    assert np.array_equal(_array(out), _array(expected))
    assert _high_frequency_energy(out) < _high_frequency_energy(image)


def test_report_perturbations_and_table(tmp_path, image):
    assert list(PERTURBATIONS) == ["jpeg_q95", "jpeg_q75", "jpeg_q50", "downscale_x0.5", "blur_sigma1"]
    gray = image.convert("L")  # any mode in, RGB of the same size out
    for perturb in PERTURBATIONS.values():
        out = perturb(gray)
        assert out.size == image.size and out.mode == "RGB"
    metrics = {"accuracy": 0.9, "balanced_accuracy": 0.9, "roc_auc": 0.95, "average_precision": 0.94}
    results = {"clean": metrics, **{name: {**metrics, "roc_auc": 0.9} for name in PERTURBATIONS}}
    results["blur_sigma1"]["roc_auc"] = float("nan")
    rows = robustness_rows(results)
    assert rows[1]["delta_roc_auc"] == pytest.approx(-0.05)
    markdown_path, json_path = write_robustness(rows, tmp_path, threshold=0.5, num_samples=10)
    table = [line for line in markdown_path.read_text().splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 6  # header + clean + 5 perturbations
    assert "n/a" in table[-1]
    payload = json.loads(json_path.read_text())  # strict JSON: NaN became null
    assert payload["rows"][-1]["roc_auc"] is None and len(payload["rows"]) == 6
