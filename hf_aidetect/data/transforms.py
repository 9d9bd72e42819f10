"""Batched train / eval transforms for ``Dataset.with_transform`` (no torchvision, no per-pixel Python).

Train geometry is one ``PIL.Image.resize(size, box=crop)`` call per image (crop + resize together); eval
geometry is the image processor's (resize, then an integer center crop: see :func:`eval_geometry`), so
pixels equal what ``pipeline("image-classification")`` feeds the model. JPEGs that are much larger than
the output decode at 1/2-1/8 size via ``Image.draft``. Pixels go to numpy, normalised
with the image processor's mean / std (``x * (1 / (255 std)) - mean / std``, two in-place numpy ops per
image while it is cache-hot) straight into one preallocated float32 ``[B, 3, H, W]`` batch.

Randomness comes from a ``numpy.random.Generator`` owned by the transform. With ``seed`` it is seeded from
``seed`` in the main process and from ``(seed, worker seed)`` inside a DataLoader worker (the worker seed is
drawn from torch's main-process RNG, which ``transformers.set_seed`` fixes), so workers differ from each
other but a run repeats. With ``seed=None`` ``torch.initial_seed()`` stands in for ``seed``.
Every image draws the same amount of randomness whatever the probabilities, so switching JPEG / blur on or
off never changes the crops and flips.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from datasets import Dataset, DatasetDict
from PIL import Image, ImageFilter

from hf_aidetect.data.images import apply_draft, apply_orientation, open_image, oriented_size, to_rgb
from hf_aidetect.errors import BadImageError, ConfigError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
Box = tuple[float, float, float, float]
EvalCrop = Literal["center", "full"]
EVAL_CROPS = ("center", "full")


def _resample_id(value: Any) -> int:
    """PIL resampling id from an int, a PIL / transformers enum, or a name like ``"bicubic"``."""
    if value is None:
        return int(Image.Resampling.BILINEAR)
    if isinstance(value, str):
        return int(Image.Resampling[value.upper()])
    inner = getattr(value, "value", value)
    if isinstance(inner, str):  # e.g. a torchvision-style InterpolationMode("bilinear")
        return int(Image.Resampling[inner.upper()])
    return int(inner)


def _describe(source: Any) -> str:
    if isinstance(source, Mapping):
        return repr(source.get("path")) if source.get("path") else "<embedded bytes>"
    if isinstance(source, Image.Image):
        return repr(getattr(source, "filename", "") or "<in-memory image>")
    return "<bytes>" if isinstance(source, (bytes, bytearray)) else repr(str(source))


def _size_field(size: Any, key: str) -> int | None:
    if size is None:
        return None
    if isinstance(size, int):
        return size
    value = size.get(key) if isinstance(size, Mapping) else getattr(size, key, None)
    return int(value) if value else None


@dataclass
class PreprocessConfig:
    """Output size, normalisation and resampling shared by train and eval transforms.

    ``eval_crop`` is the eval geometry: ``"center"`` crops a centered square of ``crop_pct`` x the shorter
    side (1.0 = largest square; processors that resize the shortest edge, then center crop); ``"full"``
    squashes the whole image to the output square, then keeps the central ``crop_pct`` of each side
    (processors that resize to an explicit height x width, e.g. ViT's). ``use_draft`` allows JPEG
    reduced-size decoding when the crop is >= 2x the output.
    """

    image_size: int = 224
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    resample: int = int(Image.Resampling.BILINEAR)
    crop_pct: float = 1.0
    use_draft: bool = True
    eval_crop: EvalCrop = "center"

    def __post_init__(self) -> None:
        self.resample = _resample_id(self.resample)
        self.mean = tuple(float(m) for m in self.mean)  # type: ignore[assignment]
        self.std = tuple(float(s) for s in self.std)  # type: ignore[assignment]
        if self.image_size < 1 or len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ConfigError(f"Invalid PreprocessConfig {self}: need image_size >= 1 and 3 positive stds.")
        if not 0.0 < self.crop_pct <= 1.0:
            raise ConfigError(f"crop_pct={self.crop_pct} must be in (0, 1].")
        if self.eval_crop not in EVAL_CROPS:
            raise ConfigError(f"eval_crop={self.eval_crop!r} must be one of {', '.join(EVAL_CROPS)}.")

    @classmethod
    def from_image_processor(cls, processor: Any, image_size: int | None = None) -> PreprocessConfig:
        """Read size / crop_size, image_mean, image_std, resample and crop geometry from an image processor.

        A processor that resizes to an explicit height x width (``size={"height", "width"}``) squashes the
        whole image (``eval_crop="full"``), as ``pipeline("image-classification")`` then does; one that
        resizes the shortest edge crops a centered square (``"center"``).
        """
        size = getattr(processor, "size", None)
        crop = getattr(processor, "crop_size", None) if getattr(processor, "do_center_crop", False) else None
        side = image_size or _size_field(crop, "height") or _size_field(size, "height")
        side = side or _size_field(size, "shortest_edge") or 224
        if getattr(processor, "do_normalize", True):
            mean = getattr(processor, "image_mean", None) or IMAGENET_MEAN
            std = getattr(processor, "image_std", None) or IMAGENET_STD
        else:
            mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
        return cls(
            image_size=int(side),
            mean=tuple(mean),  # type: ignore[arg-type]
            std=tuple(std),  # type: ignore[arg-type]
            resample=getattr(processor, "resample", None),  # type: ignore[arg-type]
            **_crop_geometry(processor, size, crop),
        )


def _crop_geometry(processor: Any, size: Any, crop: Any) -> dict[str, Any]:
    """``eval_crop`` and ``crop_pct`` that reproduce ``processor``'s resize (+ center crop)."""
    crop_side = _size_field(crop, "height")
    if _size_field(size, "height") and _size_field(size, "width"):
        # Squash to height x width, then (optionally) center crop: the crop's fraction of each side.
        pct = min(1.0, crop_side / _size_field(size, "height")) if crop_side else 1.0
        return {"eval_crop": "full", "crop_pct": float(pct)}
    pct = getattr(processor, "crop_pct", None) or 1.0
    shortest = _size_field(size, "shortest_edge")
    if shortest and shortest >= 384 and "ConvNext" in type(processor).__name__:
        return {"eval_crop": "full", "crop_pct": 1.0}  # ConvNext warps (no crop_pct) at 384 px and up
    if crop_side and shortest:
        pct = min(1.0, crop_side / shortest)
    return {"eval_crop": "center", "crop_pct": float(pct)}


def eval_geometry(
    size: tuple[int, int], image_size: int, crop_pct: float = 1.0, eval_crop: str = "center"
) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """transformers' eval geometry for an image of ``size``: the (width, height) it is resized to, then
    the integer (left, top, right, bottom) ``image_size`` square center-cropped from that.

    ``"center"`` resizes the shorter side to ``image_size / crop_pct`` (the longer side keeps the aspect
    ratio, rounded down); ``"full"`` squashes both sides to it. Same integer rounding as the processors.
    """
    width, height = size
    target = max(image_size, int(image_size / crop_pct + 1e-6))
    if eval_crop == "full":
        new_w = new_h = target
    else:
        short, long = min(width, height), max(width, height)
        new_long = int(target * long / short)
        new_w, new_h = (target, new_long) if width <= height else (new_long, target)
    left, top = (new_w - image_size) // 2, (new_h - image_size) // 2
    return (new_w, new_h), (left, top, left + image_size, top + image_size)


def eval_crop_box(
    size: tuple[int, int], image_size: int, crop_pct: float = 1.0, eval_crop: str = "center"
) -> Box:
    """(left, top, right, bottom) in ``size``'s pixels of the part of the image the eval transform keeps."""
    (new_w, new_h), (left, top, right, bottom) = eval_geometry(size, image_size, crop_pct, eval_crop)
    scale_x, scale_y = size[0] / new_w, size[1] / new_h
    return (left * scale_x, top * scale_y, right * scale_x, bottom * scale_y)


@dataclass
class AugmentConfig:
    """Train-time augmentation: random resized crop, flip, and optional JPEG re-compression and blur."""

    crop_scale: tuple[float, float] = (0.6, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    hflip_prob: float = 0.5
    jpeg_prob: float = 0.0
    jpeg_quality: tuple[int, int] = (60, 95)
    blur_prob: float = 0.0
    blur_sigma: tuple[float, float] = (0.1, 1.5)

    def __post_init__(self) -> None:
        checks = {
            "crop_scale": 0.0 < self.crop_scale[0] <= self.crop_scale[1] <= 1.0,
            "crop_ratio": 0.0 < self.crop_ratio[0] <= self.crop_ratio[1],
            "jpeg_quality": 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100,
            "blur_sigma": 0.0 <= self.blur_sigma[0] <= self.blur_sigma[1],
        }
        for name in ("hflip_prob", "jpeg_prob", "blur_prob"):
            checks[name] = 0.0 <= getattr(self, name) <= 1.0
        bad = [f"{name}={getattr(self, name)!r}" for name, ok in checks.items() if not ok]
        if bad:
            raise ConfigError(f"Invalid augmentation setting(s): {', '.join(bad)}.")


class _BatchTransform:
    """Shared batching + normalisation; subclasses implement ``_image(source, index) -> uint8 HxWx3``.

    ``output="uint8"`` skips the normalisation: ``pixel_values`` is the uint8 batch as a channels-last
    ``[B, 3, H, W]`` view, for a training device that normalises it (device preprocessing).
    """

    def __init__(self, preprocess: PreprocessConfig, image_key: str = "image", output: str = "float") -> None:
        if output not in ("float", "uint8"):
            raise ConfigError(f"output={output!r} must be 'float' or 'uint8'.")
        self.preprocess = preprocess
        self.image_key = image_key
        self.output = output
        std = np.asarray(preprocess.std, dtype=np.float32).reshape(3, 1, 1)
        mean = np.asarray(preprocess.mean, dtype=np.float32).reshape(3, 1, 1)
        self._scale = 1.0 / (255.0 * std)
        self._shift = -mean / std

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        sources = batch[self.image_key]
        side = self.preprocess.image_size
        raw = self.output == "uint8"
        shape = (len(sources), side, side, 3) if raw else (len(sources), 3, side, side)
        pixels = np.empty(shape, dtype=np.uint8 if raw else np.float32)
        for index, source in enumerate(sources):
            try:
                array = self._image(source)
            except Exception as error:
                raise BadImageError(
                    f"Cannot decode image {_describe(source)} ({type(error).__name__}: {error}). Load the "
                    "data with load_detection_dataset(..., validate=True) to skip unreadable files up front."
                ) from error
            if raw:
                pixels[index] = array
                continue
            # Normalise each image while it is still in cache: ~5x faster than one torch op on the
            # whole stacked uint8 batch (which needs a permuted, cache-cold pass per step).
            out = pixels[index]
            out[...] = array.transpose(2, 0, 1)
            out *= self._scale
            out += self._shift
        tensor = torch.from_numpy(pixels)
        result = {"pixel_values": tensor.permute(0, 3, 1, 2) if raw else tensor}
        labels = batch.get("label", batch.get("labels"))
        if labels is not None:
            result["labels"] = torch.as_tensor(labels, dtype=torch.int64)
        return result

    def _decode(
        self, image: Image.Image, box: Box, size: tuple[int, int], out: tuple[int, int] | None = None
    ) -> tuple[Image.Image, Box]:
        """Decode opened ``image`` (draft when allowed) to RGB and map ``box`` (oriented coords) onto it.

        ``out`` is the (width, height) ``box`` is resized to next; the output square by default.
        """
        if self.preprocess.use_draft:
            out_w, out_h = out or (self.preprocess.image_size,) * 2
            apply_draft(image, max(out_w / max(box[2] - box[0], 1), out_h / max(box[3] - box[1], 1)))
        image = to_rgb(apply_orientation(image))
        fx, fy = image.size[0] / size[0], image.size[1] / size[1]
        return image, (box[0] * fx, box[1] * fy, box[2] * fx, box[3] * fy)

    def _resize(self, image: Image.Image, box: Box) -> Image.Image:
        side = self.preprocess.image_size
        return image.resize((side, side), self.preprocess.resample, box=box)

    def _image(self, source: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class EvalTransform(_BatchTransform):
    """transformers' eval geometry (see :func:`eval_geometry`): resize, then an integer center crop.

    Resizing the whole image first, not a fractional box of it, keeps the pixels equal to the image
    processor's (Pillow's box resize differs from resize-then-crop by a few levels along the vertical).
    """

    def _image(self, source: Any) -> np.ndarray:
        opened = open_image(source)
        size = oriented_size(opened)
        pre = self.preprocess
        resized, crop = eval_geometry(size, pre.image_size, pre.crop_pct, pre.eval_crop)
        image, box = self._decode(opened, (0.0, 0.0, float(size[0]), float(size[1])), size, resized)
        image = image.resize(resized, pre.resample, box=box)
        if image.size != (pre.image_size, pre.image_size):
            image = image.crop(crop)
        return np.asarray(image)


class TrainTransform(_BatchTransform):
    """Random resized crop + horizontal flip + optional blur and JPEG re-compression (at output size)."""

    def __init__(
        self, preprocess: PreprocessConfig, augment: AugmentConfig, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(preprocess, **kwargs)
        self.augment = augment
        self.seed = seed
        self._rng: np.random.Generator | None = None
        self._rng_key: tuple[int, int] | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Workers must not inherit the parent's generator state: they derive their own (see module doc).
        return {**self.__dict__, "_rng": None, "_rng_key": None}

    def _generator(self) -> np.random.Generator:
        info = torch.utils.data.get_worker_info()
        key = (os.getpid(), info.id if info is not None else -1)
        if self._rng is None or self._rng_key != key:
            base = self.seed if self.seed is not None else torch.initial_seed()
            entropy = [base % 2**63] if info is None else [base % 2**63, info.seed % 2**63]
            self._rng, self._rng_key = np.random.default_rng(np.random.SeedSequence(entropy)), key
        return self._rng

    def _crop_box(self, size: tuple[int, int], draws: list[list[float]]) -> Box:
        """torchvision's RandomResizedCrop sampling (10 tries, then a center crop), in float pixels."""
        width, height = size
        area = width * height
        lo, hi = self.augment.crop_scale
        log_r = (math.log(self.augment.crop_ratio[0]), math.log(self.augment.crop_ratio[1]))
        for scale_u, ratio_u, x_u, y_u in draws:
            target = area * (lo + (hi - lo) * scale_u)
            ratio = math.exp(log_r[0] + (log_r[1] - log_r[0]) * ratio_u)
            w, h = math.sqrt(target * ratio), math.sqrt(target / ratio)
            if w <= width and h <= height:
                left, top = (width - w) * x_u, (height - h) * y_u
                return (left, top, left + w, top + h)
        ratio = min(max(width / height, self.augment.crop_ratio[0]), self.augment.crop_ratio[1])
        w, h = (width, width / ratio) if width / height < ratio else (height * ratio, height)
        w, h = min(w, width), min(h, height)
        return ((width - w) / 2, (height - h) / 2, (width + w) / 2, (height + h) / 2)

    def _image(self, source: Any) -> np.ndarray:
        rng = self._generator()
        crop_draws = rng.random((10, 4)).tolist()
        flip_u, blur_u, sigma_u, jpeg_u, quality_u = rng.random(5).tolist()
        opened = open_image(source)
        size = oriented_size(opened)
        image, box = self._decode(opened, self._crop_box(size, crop_draws), size)
        image = self._resize(image, box)
        aug = self.augment
        if blur_u < aug.blur_prob:
            sigma = aug.blur_sigma[0] + (aug.blur_sigma[1] - aug.blur_sigma[0]) * sigma_u
            image = image.filter(ImageFilter.GaussianBlur(radius=sigma))
        if jpeg_u < aug.jpeg_prob:
            quality = round(aug.jpeg_quality[0] + (aug.jpeg_quality[1] - aug.jpeg_quality[0]) * quality_u)
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=quality)
            image = Image.open(buffer)
            image.load()
        if flip_u < aug.hflip_prob:  # PIL's row flip keeps the array contiguous (uint8 batches: 10 % faster)
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return np.asarray(image)


def build_train_transform(
    preprocess: PreprocessConfig,
    augment: AugmentConfig | None = None,
    seed: int | None = None,
    output: str = "float",
) -> TrainTransform:
    """Train transform for ``Dataset.with_transform``: batch -> ``{"pixel_values", "labels"}``.

    ``output="uint8"``: un-normalised uint8 pixels (see :class:`_BatchTransform`).
    """
    return TrainTransform(preprocess, augment or AugmentConfig(), seed=seed, output=output)


def build_eval_transform(preprocess: PreprocessConfig, output: str = "float") -> EvalTransform:
    """Deterministic eval transform; works with or without a ``label`` column."""
    return EvalTransform(preprocess, output=output)


def with_detection_transform(
    data: Dataset | DatasetDict, transform: _BatchTransform | Mapping[str, _BatchTransform]
) -> Dataset | DatasetDict:
    """Attach ``transform`` lazily, with the image column left undecoded so JPEG draft decoding applies.

    For a ``DatasetDict`` pass one transform or a mapping ``{split: transform}``.
    """
    from datasets import Image as ImageFeature

    if isinstance(data, DatasetDict):
        return DatasetDict(
            {
                split: with_detection_transform(
                    dataset, transform[split] if isinstance(transform, Mapping) else transform
                )
                for split, dataset in data.items()
            }
        )
    key = transform.image_key if isinstance(transform, _BatchTransform) else "image"
    undecoded = data.cast_column(key, ImageFeature(decode=False))
    return undecoded.with_transform(transform)
