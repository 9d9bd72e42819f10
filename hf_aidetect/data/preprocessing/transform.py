"""The loader stage: decode, geometry, JPEG re-compression, then (optionally) the batched stage.

:class:`ImageTransform` turns a batch of undecoded images (``{"path", "bytes"}`` dicts, paths, bytes, PIL
images) or of decode-cache rows into ``pixel_values``. Per image it decodes (RGB, EXIF orientation
applied), takes the geometry's window (:mod:`.geometry`) and, for training, re-encodes it as JPEG when
the draws say so (PIL: this is why it runs in the loader). The uint8 windows are stacked into one
channels-last batch, then either finished here by :class:`~.batch.BatchAugment` (flip, blur, normalise)
or shipped as uint8 with their draws for the training device to finish.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from PIL import Image

from hf_aidetect.data.images import (
    ImageSource,
    apply_draft,
    apply_orientation,
    open_image,
    oriented_size,
    to_rgb,
)
from hf_aidetect.data.preprocessing import geometry
from hf_aidetect.data.preprocessing.batch import BatchAugment
from hf_aidetect.data.preprocessing.config import AugmentConfig, InputSpec, PreprocessConfig
from hf_aidetect.data.preprocessing.draws import (
    CROP_X,
    CROP_Y,
    JPEG,
    JPEG_QUALITY,
    DrawStream,
    sample_draws,
)
from hf_aidetect.errors import BadImageError, ConfigError

SampleKeys = tuple[np.ndarray, np.ndarray]  # (epochs, row indices)
CACHE_PIXELS, CACHE_HEIGHT, CACHE_WIDTH = "pixels", "height", "width"


def describe_source(source: ImageSource) -> str:
    """A short name for an image source in error messages."""
    if isinstance(source, Mapping):
        return repr(source.get("path")) if source.get("path") else "<embedded bytes>"
    if isinstance(source, Image.Image):
        return repr(getattr(source, "filename", "") or "<in-memory image>")
    return "<bytes>" if isinstance(source, (bytes, bytearray)) else repr(str(source))


def jpeg_roundtrip(window: np.ndarray, quality: int) -> np.ndarray:
    """Encode an ``[S, S, 3]`` uint8 window as JPEG at ``quality`` and decode it back."""
    buffer = io.BytesIO()
    Image.fromarray(window).save(buffer, format="JPEG", quality=int(quality))
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"))


class ImageTransform:
    """Batch of images -> ``{"pixel_values", "labels"?, "augment_draws"?}`` for one split.

    ``train`` with an enabled ``augment`` takes random windows and JPEG re-compression from per-sample
    draws; otherwise the evaluation window(s): ``crops`` > 1 gives ``[B, crops, 3, S, S]`` (a ``g x g``
    grid, geometry ``crop`` only). ``batch_stage=None`` ships uint8 (plus ``augment_draws`` when
    training) for the device. Call it with ``sample_keys`` (epochs, indices) for resumable draws, or
    without (``Dataset.with_transform``) for a per-process stream seeded by ``seed``.
    """

    def __init__(
        self,
        spec: InputSpec,
        preprocess: PreprocessConfig | None = None,
        augment: AugmentConfig | None = None,
        *,
        train: bool = False,
        seed: int = 0,
        batch_stage: BatchAugment | None = None,
        crops: int = 1,
        image_key: str = "image",
    ) -> None:
        if crops < 1 or (crops > 1 and (spec.geometry != "crop" or int(crops**0.5) ** 2 != crops)):
            raise ConfigError(
                f"--crops {crops}: multi-crop takes a square number of crops (4, 9, 16) and the native-"
                "resolution geometry (crop); use 1 for the model's own centre crop."
            )
        self.spec = spec
        self.preprocess = preprocess or PreprocessConfig(geometry=spec.geometry)
        self.augment = augment if augment is not None and augment.enabled else None
        self.train = train and self.augment is not None
        self.seed = seed
        self.batch_stage = batch_stage
        self.crops = crops
        self.image_key = image_key
        self._stream = DrawStream(seed)

    def __call__(self, batch: Mapping[str, Any], sample_keys: SampleKeys | None = None) -> dict[str, Any]:
        cached = CACHE_PIXELS in batch
        count = len(batch[CACHE_PIXELS] if cached else batch[self.image_key])
        draws = None
        if self.train:
            draws = self._stream.next(count) if sample_keys is None else sample_draws(self.seed, *sample_keys)
        side, crops = self.spec.size, (1 if self.train else self.crops)
        pixels = np.empty((count, crops, side, side, 3), dtype=np.uint8)
        for i in range(count):
            row_draws = draws[i] if draws is not None else None
            try:
                image = self._cached(batch, i) if cached else batch[self.image_key][i]
                pixels[i] = self._windows(image, row_draws)
            except Exception as error:
                source = "<decode cache row>" if cached else describe_source(batch[self.image_key][i])
                raise BadImageError(
                    f"Cannot decode image {source} ({type(error).__name__}: {error}). Load the data with "
                    "load_detection_dataset(..., validate=True) to skip unreadable files up front."
                ) from error
        tensor = torch.from_numpy(pixels).permute(0, 1, 4, 2, 3)  # channels-last view, no copy
        tensor = tensor[:, 0] if crops == 1 else tensor
        result: dict[str, Any] = {}
        draws_tensor = torch.from_numpy(draws) if draws is not None else None
        if self.batch_stage is not None:
            result["pixel_values"] = self.batch_stage(tensor, draws_tensor)
        else:
            result["pixel_values"] = tensor
            if draws_tensor is not None:
                result["augment_draws"] = draws_tensor
        labels = batch.get("label", batch.get("labels"))
        if labels is not None:
            result["labels"] = torch.as_tensor(labels, dtype=torch.int64)
        return result

    @staticmethod
    def _cached(batch: Mapping[str, Any], i: int) -> np.ndarray:
        height, width = int(batch[CACHE_HEIGHT][i]), int(batch[CACHE_WIDTH][i])
        return np.frombuffer(batch[CACHE_PIXELS][i], dtype=np.uint8).reshape(height, width, 3)

    def _windows(self, source: ImageSource | np.ndarray, draws: np.ndarray | None) -> np.ndarray:
        """``[crops, S, S, 3]`` uint8 for one image (an ndarray from the cache, or anything PIL opens)."""
        if self.spec.geometry == "crop":
            out = self._native_windows(source, draws)
        else:
            out = self._resized(source, draws)[None]
        if draws is not None and draws[JPEG] < self.augment.jpeg_prob:
            low, high = self.augment.jpeg_quality
            out = jpeg_roundtrip(out[0], round(low + (high - low) * draws[JPEG_QUALITY]))[None]
        return out

    def _native_windows(self, source: ImageSource | np.ndarray, draws: np.ndarray | None) -> np.ndarray:
        side = self.spec.size
        if isinstance(source, np.ndarray):
            size, image = (source.shape[1], source.shape[0]), source
        else:
            image = to_rgb(apply_orientation(open_image(source)))
            size = image.size
        if draws is not None:
            left = geometry.random_offset(size[0], side, draws[CROP_X])
            top = geometry.random_offset(size[1], side, draws[CROP_Y])
            windows = [(left, top)]
        else:
            windows = geometry.multi_crop_windows(size, side, self.crops)
        if isinstance(image, np.ndarray):
            return np.stack([geometry.cut_window(image, x, y, side) for x, y in windows])
        return np.stack([np.asarray(image.crop(geometry.window_box(x, y, side))) for x, y in windows])

    def _resized(self, source: ImageSource | np.ndarray, draws: np.ndarray | None) -> np.ndarray:
        spec = self.spec
        image = Image.fromarray(source) if isinstance(source, np.ndarray) else open_image(source)
        size = image.size if isinstance(source, np.ndarray) else oriented_size(image)
        if draws is not None:
            scale, ratio = self.preprocess.crop_scale, self.preprocess.crop_ratio
            box = geometry.resized_crop_box(size, draws, tuple(scale), tuple(ratio))
            out_size, crop = (spec.size, spec.size), None
        else:
            out_size, crop = geometry.resize_geometry(size, spec.size, spec.crop_pct, spec.resize_mode)
            box = (0.0, 0.0, float(size[0]), float(size[1]))
        if not isinstance(source, np.ndarray):
            image, box = self._decode(image, box, size, out_size)
        image = image.resize(out_size, spec.resample, box=box)
        if crop is not None and image.size != (spec.size, spec.size):
            image = image.crop(crop)
        return np.asarray(image)

    def _decode(
        self, image: Image.Image, box: geometry.Box, size: tuple[int, int], out: tuple[int, int]
    ) -> tuple[Image.Image, geometry.Box]:
        """Decode (JPEG draft when it only downsamples) to RGB; map ``box`` onto the decoded pixels."""
        if self.spec.use_draft:
            apply_draft(image, max(out[0] / max(box[2] - box[0], 1), out[1] / max(box[3] - box[1], 1)))
        image = to_rgb(apply_orientation(image))
        fx, fy = image.size[0] / size[0], image.size[1] / size[1]
        return image, (box[0] * fx, box[1] * fy, box[2] * fx, box[3] * fy)
