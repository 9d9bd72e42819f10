"""Where each output pixel comes from: crop offsets (native resolution) and resize boxes (resampling).

Geometry ``crop`` never resamples. An axis longer than the output side ``S`` is cropped (at a random
offset for training, centred for evaluation, on a ``g x g`` grid for multi-crop); a shorter axis is
zero-padded (black), the image placed at a random offset for training and centred for evaluation. The
evaluation rule is transformers' ``center_crop`` (numpy backend): crop offset ``(n - S) // 2``, padding
``ceil((S - n) / 2)`` before the image, so ``pipeline("image-classification")`` with the saved
processor (``do_resize=False``, centre crop ``S``) sees the same pixels.

Geometry ``resize`` reproduces the image processor (resize, then an integer centre crop) at evaluation,
and torchvision's ``RandomResizedCrop`` sampling for training.
"""

from __future__ import annotations

import math

import numpy as np

from hf_aidetect.data.preprocessing.draws import RESIZED_CROP, RESIZED_CROP_TRIES

Box = tuple[float, float, float, float]


def centre_offset(length: int, side: int) -> int:
    """Source offset of a centred window of ``side`` on an axis of ``length`` (negative: padding)."""
    if length >= side:
        return (length - side) // 2
    return -math.ceil((side - length) / 2)


def random_offset(length: int, side: int, uniform: float) -> int:
    """Source offset of a random window: uniform over every crop position, or every padding placement."""
    span = abs(length - side)
    shift = min(span, int(uniform * (span + 1)))
    return shift if length >= side else -shift


def grid_offsets(length: int, side: int, steps: int) -> list[int]:
    """``steps`` evenly spaced window offsets from one end of the axis to the other (centred if short)."""
    if length <= side or steps == 1:
        return [centre_offset(length, side)] * steps
    return [round(i * (length - side) / (steps - 1)) for i in range(steps)]


def multi_crop_windows(size: tuple[int, int], side: int, crops: int) -> list[tuple[int, int]]:
    """(left, top) offsets of ``crops`` windows: the centre for 1, else a square ``g x g`` grid."""
    width, height = size
    if crops == 1:
        return [(centre_offset(width, side), centre_offset(height, side))]
    steps = math.isqrt(crops)
    return [(x, y) for y in grid_offsets(height, side, steps) for x in grid_offsets(width, side, steps)]


def window_box(left: int, top: int, side: int) -> tuple[int, int, int, int]:
    """PIL ``crop`` box for a window (coordinates outside the image read as black)."""
    return (left, top, left + side, top + side)


def cut_window(array: np.ndarray, left: int, top: int, side: int) -> np.ndarray:
    """``side x side`` window of an ``[H, W, 3]`` array at (left, top); outside the image is zero."""
    height, width = array.shape[:2]
    if left >= 0 and top >= 0 and left + side <= width and top + side <= height:
        return array[top : top + side, left : left + side]
    out = np.zeros((side, side, array.shape[2]), dtype=array.dtype)
    src_x, src_y = max(0, left), max(0, top)
    end_x, end_y = min(width, left + side), min(height, top + side)
    out[src_y - top : end_y - top, src_x - left : end_x - left] = array[src_y:end_y, src_x:end_x]
    return out


def resized_crop_box(
    size: tuple[int, int], draws: np.ndarray, scale: tuple[float, float], ratio: tuple[float, float]
) -> Box:
    """torchvision's ``RandomResizedCrop`` sampling (10 tries, then a centre crop), in float pixels."""
    width, height = size
    area = width * height
    log_r = (math.log(ratio[0]), math.log(ratio[1]))
    tries = draws[RESIZED_CROP : RESIZED_CROP + 4 * RESIZED_CROP_TRIES].reshape(RESIZED_CROP_TRIES, 4)
    for scale_u, ratio_u, x_u, y_u in tries.tolist():
        target = area * (scale[0] + (scale[1] - scale[0]) * scale_u)
        aspect = math.exp(log_r[0] + (log_r[1] - log_r[0]) * ratio_u)
        w, h = math.sqrt(target * aspect), math.sqrt(target / aspect)
        if w <= width and h <= height:
            left, top = (width - w) * x_u, (height - h) * y_u
            return (left, top, left + w, top + h)
    aspect = min(max(width / height, ratio[0]), ratio[1])
    w, h = (width, width / aspect) if width / height < aspect else (height * aspect, height)
    w, h = min(w, width), min(h, height)
    return ((width - w) / 2, (height - h) / 2, (width + w) / 2, (height + h) / 2)


def resize_geometry(
    size: tuple[int, int], side: int, crop_pct: float = 1.0, resize_mode: str = "center"
) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """The processor's evaluation resize for an image of ``size``: the (width, height) it is resized to,
    then the integer (left, top, right, bottom) ``side`` square centre-cropped from that.

    ``"center"`` resizes the shorter side to ``side / crop_pct`` (the longer keeps the aspect ratio,
    rounded down); ``"full"`` squashes both sides to it. Same integer rounding as the processors.
    """
    width, height = size
    target = max(side, int(side / crop_pct + 1e-6))
    if resize_mode == "full":
        new_w = new_h = target
    else:
        short, long = min(width, height), max(width, height)
        new_long = int(target * long / short)
        new_w, new_h = (target, new_long) if width <= height else (new_long, target)
    left, top = (new_w - side) // 2, (new_h - side) // 2
    return (new_w, new_h), (left, top, left + side, top + side)


def evaluation_region(
    size: tuple[int, int],
    side: int,
    geometry: str = "crop",
    crop_pct: float = 1.0,
    resize_mode: str = "center",
) -> Box:
    """(left, top, right, bottom), in the image's own pixels, of what evaluation shows the model.

    For ``crop`` a window that may extend past the image (padding); for ``resize`` the resized crop
    mapped back onto the original.
    """
    if geometry == "crop":
        left, top = centre_offset(size[0], side), centre_offset(size[1], side)
        return (float(left), float(top), float(left + side), float(top + side))
    (new_w, new_h), (left, top, right, bottom) = resize_geometry(size, side, crop_pct, resize_mode)
    scale_x, scale_y = size[0] / new_w, size[1] / new_h
    return (left * scale_x, top * scale_y, right * scale_x, bottom * scale_y)
