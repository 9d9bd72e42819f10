"""Test-time perturbations (pure functions on PIL images) and the robustness table built from them.

Each perturbation returns a new RGB image of the input's size: detectors are often fooled by the
re-compression, resizing and blur that images get when shared online.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageFilter

from hf_aidetect.files.layout import ROBUSTNESS_JSON, ROBUSTNESS_MARKDOWN
from hf_aidetect.markdown import markdown_table

Perturbation = Callable[[Image.Image], Image.Image]


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    """Re-encode as JPEG at ``quality`` in memory (lossy, same size)."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")


def downscale(image: Image.Image, factor: float = 0.5) -> Image.Image:
    """Resize by ``factor`` (bilinear) and back to the original size: removes high frequencies."""
    rgb = image.convert("RGB")
    small = (max(1, round(rgb.width * factor)), max(1, round(rgb.height * factor)))
    return rgb.resize(small, Image.Resampling.BILINEAR).resize(rgb.size, Image.Resampling.BILINEAR)


def gaussian_blur(image: Image.Image, sigma: float = 1.0) -> Image.Image:
    """Gaussian blur with standard deviation ``sigma`` pixels (PIL's ``GaussianBlur(radius=sigma)``)."""
    return image.convert("RGB").filter(ImageFilter.GaussianBlur(radius=sigma))


def _partial(function: Callable[..., Image.Image], **kwargs: float) -> Perturbation:
    def perturb(image: Image.Image) -> Image.Image:
        return function(image, **kwargs)

    perturb.__name__ = f"{function.__name__}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
    return perturb


#: The report's perturbations, in table order (the clean row comes first and is not listed here).
PERTURBATIONS: dict[str, Perturbation] = {
    "jpeg_q95": _partial(jpeg, quality=95),
    "jpeg_q75": _partial(jpeg, quality=75),
    "jpeg_q50": _partial(jpeg, quality=50),
    "downscale_x0.5": _partial(downscale, factor=0.5),
    "blur_sigma1": _partial(gaussian_blur, sigma=1.0),
}

DESCRIPTIONS: dict[str, str] = {
    "clean": "no perturbation",
    "jpeg_q95": "JPEG re-encode, quality 95",
    "jpeg_q75": "JPEG re-encode, quality 75",
    "jpeg_q50": "JPEG re-encode, quality 50",
    "downscale_x0.5": "downscale x0.5 and back up (bilinear)",
    "blur_sigma1": "Gaussian blur, sigma = 1 px",
}

TABLE_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "recall_real",
    "recall_fake",
    "roc_auc",
    "average_precision",
)


def robustness_rows(results: dict[str, dict[str, float]]) -> list[dict[str, float | str]]:
    """Rows ``{"perturbation", "description", <metrics>, "delta_roc_auc"}`` from metrics per perturbation."""
    clean_auc = results.get("clean", {}).get("roc_auc")
    rows = []
    for name, metrics in results.items():
        row: dict[str, float | str] = {"perturbation": name, "description": DESCRIPTIONS.get(name, name)}
        row.update({key: float(metrics[key]) for key in TABLE_METRICS if key in metrics})
        if clean_auc is not None and "roc_auc" in metrics:
            row["delta_roc_auc"] = float(metrics["roc_auc"]) - float(clean_auc)
        rows.append(row)
    return rows


def _cell(value: float | str, signed: bool = False) -> str:
    if isinstance(value, str):
        return value
    if value != value:  # NaN: metric undefined (e.g. one class only)
        return "n/a"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def json_safe(value: object) -> object:
    """Replace NaN / inf floats (invalid JSON) with ``None``, recursively."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def robustness_markdown(rows: list[dict[str, float | str]], threshold: float, num_samples: int) -> str:
    """A markdown table (one row per perturbation) with a one-line explanation above it."""
    columns = ["perturbation", "description", *TABLE_METRICS, "delta_roc_auc"]
    present = [c for c in columns if any(c in row for row in rows)]
    align = "".join("l" if column in ("perturbation", "description") else "r" for column in present)
    cells = [
        [_cell(row.get(column, ""), signed=column == "delta_roc_auc") for column in present] for row in rows
    ]
    lines = [
        f"Metrics on {num_samples} test images with each perturbation applied before preprocessing; "
        f"decisions at threshold {threshold:.4f}. `delta_roc_auc` is the change against the clean row.",
        "",
        markdown_table(present, cells, align=align),
    ]
    return "\n".join(lines) + "\n"


def write_robustness(
    rows: list[dict[str, float | str]], out_dir: str | Path, threshold: float, num_samples: int
) -> tuple[Path, Path]:
    """Write ``robustness.md`` and ``robustness.json`` into ``out_dir``; return both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    markdown_path, json_path = out / ROBUSTNESS_MARKDOWN, out / ROBUSTNESS_JSON
    markdown_path.write_text(robustness_markdown(rows, threshold, num_samples), encoding="utf-8")
    payload = {"threshold": threshold, "num_samples": num_samples, "rows": rows}
    json_path.write_text(json.dumps(json_safe(payload), indent=2) + "\n", encoding="utf-8")
    return markdown_path, json_path
