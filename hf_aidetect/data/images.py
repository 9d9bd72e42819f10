"""Image decoding: every file becomes an 8-bit RGB ``PIL.Image`` with its EXIF orientation applied.

``load_rgb`` is the one decode used by the transforms and by inference, so a model never sees a grayscale,
alpha, palette, CMYK or 16-bit image. Transparent pixels are composited on white, as transformers'
``convert_to_rgb`` does, so training and ``pipeline("image-classification")`` agree on such files.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
)
# Operating-system litter that sits next to images; never an image, never worth a warning.
SYSTEM_FILES: frozenset[str] = frozenset({"thumbs.db", "desktop.ini", "ehthumbs.db", "icon\r"})
SYSTEM_DIRS: frozenset[str] = frozenset({"__macosx", "@eadir", "$recycle.bin", "system volume information"})

# A path, raw bytes, a datasets Image dict ({"path", "bytes"}) or an already opened image.
ImageSource = str | os.PathLike | bytes | Mapping | Image.Image

_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})


def is_hidden_or_system(name: str) -> bool:
    """True for dot-files (``.DS_Store``, AppleDouble ``._x.jpg``) and Windows / NAS litter."""
    lowered = name.lower()
    return name.startswith(".") or lowered in SYSTEM_FILES or lowered in SYSTEM_DIRS


def has_image_extension(name: str) -> bool:
    """True when the file name ends with one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def open_image(source: ImageSource) -> Image.Image:
    """Open (lazily, without decoding pixels) an image from any :data:`ImageSource`."""
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, Mapping):
        if source.get("bytes") is not None:
            return Image.open(io.BytesIO(source["bytes"]))
        if source.get("path") is None:
            raise ValueError("image dict has neither 'bytes' nor 'path'")
        return Image.open(source["path"])
    if isinstance(source, (bytes, bytearray, memoryview)):
        return Image.open(io.BytesIO(bytes(source)))
    return Image.open(Path(source))


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation tag (1 = upright) read from the header; 1 when absent or unreadable."""
    try:
        return int(image.getexif().get(0x0112, 1) or 1)
    except Exception:  # a broken EXIF block must not make a readable image unreadable
        return 1


def oriented_size(image: Image.Image) -> tuple[int, int]:
    """(width, height) after the EXIF orientation is applied, read from the header only."""
    width, height = image.size
    return (height, width) if exif_orientation(image) in (5, 6, 7, 8) else (width, height)


def apply_orientation(image: Image.Image) -> Image.Image:
    """``ImageOps.exif_transpose`` only when needed (it copies the whole image even when upright)."""
    return image if exif_orientation(image) == 1 else ImageOps.exif_transpose(image)


def apply_draft(image: Image.Image, scale: float) -> None:
    """Let JPEG decode at 1/2, 1/4 or 1/8 size when only ``scale`` (<1) of the resolution is needed.

    libjpeg's DCT scaling keeps every decoded dimension >= the request, so the caller still downsamples
    with its own filter; no-op for other formats and when ``scale`` >= 0.5.
    """
    if scale >= 0.5 or getattr(image, "format", None) != "JPEG" or image.mode not in ("RGB", "L", "CMYK"):
        return
    width, height = image.size
    request = (max(1, int(np.ceil(width * scale))), max(1, int(np.ceil(height * scale))))
    image.draft(image.mode, request)


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB.

    Alpha (RGBA, LA, transparent palettes) is composited on white; 16/32-bit integer and float images are
    rescaled to 0..255 (16-bit by /257, so 65535 -> 255) rather than clipped.
    """
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in _ALPHA_MODES:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode.startswith("I") or mode == "F":
        return Image.fromarray(_to_uint8(np.asarray(image), mode)).convert("RGB")
    return image.convert("RGB")


def _to_uint8(array: np.ndarray, mode: str) -> np.ndarray:
    """Rescale a high-bit-depth single-channel array to uint8."""
    if mode.startswith("I;16"):
        return np.round(array.astype(np.float32) / 257.0).astype(np.uint8)
    values = array.astype(np.float64)
    peak = float(values.max()) if values.size else 0.0
    if mode == "F" and peak <= 1.0:
        values = values * 255.0
    elif peak > 255.0:
        # "I" is how older Pillow opens 16-bit PNGs: treat anything above 8-bit as a 16-bit range.
        values = values / (257.0 if peak <= 65535.0 else peak / 255.0)
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


def load_rgb(source: ImageSource, *, draft_scale: float | None = None) -> Image.Image:
    """Decode ``source`` to an RGB image with EXIF orientation applied.

    ``draft_scale`` (< 0.5) lets JPEGs decode at reduced size when the caller will downsample anyway.
    """
    image = open_image(source)
    if draft_scale is not None:
        apply_draft(image, draft_scale)
    return to_rgb(apply_orientation(image))
