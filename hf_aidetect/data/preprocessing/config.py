"""The typed configs of the preprocessing pipeline, each setting validated once, here.

Recipes set them as nested YAML blocks (``preprocess:``, ``augment:``, ``pipeline:``) or as flat keys /
CLI flags (``--hflip_prob 0.5``); ``HfArgumentParser`` reads the same dataclasses.

* :class:`PreprocessConfig` -- the geometry: ``crop`` (default) keeps the pixels at their native
  resolution (random crops of the model's input size for training, a centre crop for evaluation, zero
  padding for smaller images); ``resize`` resamples to the input size (torchvision-style random resized
  crop, the image processor's resize + centre crop at evaluation) and has to be asked for by name.
* :class:`AugmentConfig` -- flips, JPEG re-compression and Gaussian blur.
* :class:`PipelineConfig` -- where the batched work runs (the data loader or the training device) and the
  decode cache.
* :class:`InputSpec` -- what the model takes (side, normalisation, resampling), read from its image
  processor. It is not a recipe block: the model owns it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from transformers.image_processing_utils import BaseImageProcessor

from hf_aidetect.errors import ConfigError

GEOMETRIES = ("crop", "resize")
RESIZE_MODES = ("center", "full")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_CROP_SCALE = (0.6, 1.0)
DEFAULT_CROP_RATIO = (3 / 4, 4 / 3)


def _pair(name: str, value: Sequence[float], low: float, high: float) -> tuple[float, float]:
    """Two increasing numbers in [low, high] as a tuple, or a ``ConfigError`` naming the flag."""
    values = list(value)
    if len(values) != 2 or not low <= values[0] <= values[1] <= high:
        raise ConfigError(f"--{name} needs two increasing numbers in [{low}, {high}], got {values}.")
    return float(values[0]), float(values[1])


def _probability(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"--{name} is a probability in [0, 1], got {value}.")
    return float(value)


@dataclass
class PreprocessConfig:
    """Geometry: how an image of any size becomes the model's square input (recipe block ``preprocess:``)."""

    geometry: str = field(
        default="crop",
        metadata={
            "help": "crop: native-resolution crops of the model's input size (random for training, centred "
            "for evaluation; smaller images are zero-padded), so the generator's pixel-level fingerprint "
            "survives. resize: resample to the input size (random resized crop / the processor's resize).",
            "choices": list(GEOMETRIES),
        },
    )
    crop_scale: list[float] | None = field(
        default=None,
        metadata={
            "help": "geometry resize only: random resized crop area range, two floats in (0, 1] "
            f"(default {list(DEFAULT_CROP_SCALE)})."
        },
    )
    crop_ratio: list[float] | None = field(
        default=None,
        metadata={"help": "geometry resize only: random resized crop aspect range (default [0.75, 1.33])."},
    )

    def __post_init__(self) -> None:
        if self.geometry not in GEOMETRIES:
            raise ConfigError(f"--geometry {self.geometry!r}: choose one of {', '.join(GEOMETRIES)}.")
        if self.geometry == "crop":
            given = [name for name in ("crop_scale", "crop_ratio") if getattr(self, name) is not None]
            if given:
                raise ConfigError(
                    f"--{given[0]} resamples the crop, which geometry 'crop' never does: drop it, or set "
                    "--geometry resize to train on resampled crops."
                )
            return
        scale = _pair("crop_scale", self.crop_scale or DEFAULT_CROP_SCALE, 0.0, 1.0)
        if scale[0] <= 0.0:
            raise ConfigError(f"--crop_scale needs a lower bound above 0, got {list(scale)}.")
        ratio = _pair("crop_ratio", self.crop_ratio or DEFAULT_CROP_RATIO, 1e-3, 1e3)
        self.crop_scale, self.crop_ratio = list(scale), list(ratio)

    @property
    def resamples(self) -> bool:
        """True when pixels are resampled (``geometry: resize``)."""
        return self.geometry == "resize"

    def native_window(self, image_processor: BaseImageProcessor) -> int | None:
        """Side of the windows cut at native resolution from each image; None when the geometry resamples."""
        return None if self.resamples else InputSpec.from_image_processor(image_processor).size


@dataclass
class AugmentConfig:
    """Train-time augmentation: flips, 90° rotations, JPEG re-compression, Gaussian blur (``augment:``).

    Every image draws the same random numbers whatever is switched on (see :mod:`.draws`), so turning
    JPEG or blur on or off never changes an image's crop or flip.
    """

    augment: bool = field(default=True, metadata={"help": "Train-time augmentation on or off."})
    hflip_prob: float = field(default=0.5, metadata={"help": "Horizontal flip probability."})
    rot90_prob: float = field(
        default=0.0,
        metadata={
            "help": "Probability of a rotation by 90, 180 or 270 degrees (equally likely). Lossless on the "
            "pixel grid, so it keeps the generator's traces; 0.75 with hflip 0.5 draws each of the 8 flips "
            "and rotations of a crop equally often."
        },
    )
    jpeg_prob: float = field(default=0.0, metadata={"help": "Probability of a JPEG re-compression."})
    jpeg_quality: list[int] = field(
        default_factory=lambda: [60, 95], metadata={"help": "JPEG quality range, two ints in [1, 100]."}
    )
    blur_prob: float = field(default=0.0, metadata={"help": "Probability of a Gaussian blur."})
    blur_sigma: list[float] = field(
        default_factory=lambda: [0.1, 1.5], metadata={"help": "Gaussian blur sigma range (pixels)."}
    )

    def __post_init__(self) -> None:
        for name in ("hflip_prob", "rot90_prob", "jpeg_prob", "blur_prob"):
            setattr(self, name, _probability(name, getattr(self, name)))
        low, high = _pair("jpeg_quality", self.jpeg_quality, 1, 100)
        self.jpeg_quality = [int(low), int(high)]
        self.blur_sigma = list(_pair("blur_sigma", self.blur_sigma, 0.0, 100.0))

    @property
    def enabled(self) -> bool:
        return self.augment


@dataclass
class PipelineConfig:
    """Where the work runs and what is cached (recipe block ``pipeline:``)."""

    device_preprocessing: bool | None = field(
        default=None,
        metadata={
            "help": "The loader ships uint8 pixels and the training device flips, blurs and normalises "
            "each batch (4x fewer bytes through the loader and to the GPU). Default: on when training on "
            "a GPU, off on CPU (there it is the same work in the same process; measured in benchmarks/)."
        },
    )
    decode_cache: bool = field(
        default=False,
        metadata={
            "help": "Decode every image once into a memory-mapped Arrow cache of native-resolution RGB "
            "pixels (--decode_cache_dir); later epochs and runs skip the JPEG decode. Disk: width x height "
            "x 3 bytes per image."
        },
    )
    decode_cache_dir: str | None = field(
        default=None,
        metadata={"help": "Folder of the decode cache (default: HF_DATASETS_CACHE/hf_aidetect_decode)."},
    )


def _resample_id(value: Any) -> int:
    """PIL resampling id from an int, a PIL / transformers enum, or a name like ``"bicubic"``."""
    if value is None:
        return int(Image.Resampling.BILINEAR)
    inner = getattr(value, "value", value)
    if isinstance(inner, str):
        return int(Image.Resampling[inner.upper()])
    return int(inner)


def size_field(size: Any, key: str) -> int | None:
    if size is None:
        return None
    if isinstance(size, int):
        return size
    value = size.get(key) if isinstance(size, Mapping) else getattr(size, key, None)
    return int(value) if value else None


@dataclass(frozen=True)
class InputSpec:
    """The model's input: side, normalisation, and (geometry ``resize``) how the processor resizes.

    ``resize_mode`` / ``crop_pct`` describe the resize geometry's evaluation: ``"center"`` resizes the
    shorter side to ``size / crop_pct`` and centre-crops (Bit / CLIP / ConvNext processors); ``"full"``
    squashes the image to a square, then keeps the central ``crop_pct`` (ViT processors). ``use_draft``
    lets JPEGs decode at reduced size when they are downsampled anyway (resize geometry only).
    """

    size: int = 224
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    resample: int = int(Image.Resampling.BILINEAR)
    geometry: str = "crop"
    resize_mode: str = "center"
    crop_pct: float = 1.0
    use_draft: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "resample", _resample_id(self.resample))
        object.__setattr__(self, "mean", tuple(float(m) for m in self.mean))
        object.__setattr__(self, "std", tuple(float(s) for s in self.std))
        if self.size < 1 or len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ConfigError(f"Invalid InputSpec {self}: need size >= 1 and 3 positive stds.")
        if self.geometry not in GEOMETRIES or self.resize_mode not in RESIZE_MODES:
            raise ConfigError(f"Invalid InputSpec geometry {self.geometry!r} / {self.resize_mode!r}.")
        if not 0.0 < self.crop_pct <= 1.0:
            raise ConfigError(f"crop_pct={self.crop_pct} must be in (0, 1].")

    @classmethod
    def from_image_processor(cls, processor: BaseImageProcessor) -> InputSpec:
        """Read the geometry a saved image processor applies, so inference reproduces it exactly.

        ``do_resize=False`` with a centre crop is the native-resolution ``crop`` geometry; anything that
        resizes is the ``resize`` geometry, with the processor's size, crop fraction and resampling.
        """
        if getattr(processor, "do_normalize", True):
            mean = getattr(processor, "image_mean", None) or IMAGENET_MEAN
            std = getattr(processor, "image_std", None) or IMAGENET_STD
        else:
            mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
        size = getattr(processor, "size", None)
        crop = getattr(processor, "crop_size", None) if getattr(processor, "do_center_crop", False) else None
        common = {"mean": tuple(mean), "std": tuple(std), "resample": getattr(processor, "resample", None)}
        if not getattr(processor, "do_resize", True):
            side = size_field(crop, "height")
            if not side:
                raise ConfigError(
                    f"{type(processor).__name__} neither resizes nor centre-crops: cannot tell the model's "
                    "input size. Save the model with hf_aidetect (its processor centre-crops)."
                )
            return cls(size=side, geometry="crop", **common)
        side = size_field(crop, "height") or size_field(size, "height") or size_field(size, "shortest_edge")
        return cls(size=int(side or 224), geometry="resize", **common, **_resize_geometry(processor))

    def at(self, size: int) -> InputSpec:
        """The same spec for another side."""
        return InputSpec(**{**self.__dict__, "size": int(size)})


def _resize_geometry(processor: BaseImageProcessor) -> dict[str, Any]:
    """``resize_mode`` and ``crop_pct`` that reproduce ``processor``'s resize (+ centre crop)."""
    size = getattr(processor, "size", None)
    crop = getattr(processor, "crop_size", None) if getattr(processor, "do_center_crop", False) else None
    crop_side = size_field(crop, "height")
    if size_field(size, "height") and size_field(size, "width"):
        # Squash to height x width, then (optionally) centre crop: the crop's fraction of each side.
        pct = min(1.0, crop_side / size_field(size, "height")) if crop_side else 1.0
        return {"resize_mode": "full", "crop_pct": float(pct)}
    pct = getattr(processor, "crop_pct", None) or 1.0
    shortest = size_field(size, "shortest_edge")
    if shortest and shortest >= 384 and "ConvNext" in type(processor).__name__:
        return {"resize_mode": "full", "crop_pct": 1.0}  # ConvNext warps (no crop_pct) at 384 px and up
    if crop_side and shortest:
        pct = min(1.0, crop_side / shortest)
    return {"resize_mode": "center", "crop_pct": float(pct)}
