"""The quality suite's datasets: what each one is (family, native size, compression, counts)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from benchmarks.quality.families import FAMILIES

SPLITS: tuple[str, ...] = ("train", "valid", "test")


@dataclass(frozen=True)
class DatasetSpec:
    """Everything that determines a suite dataset's bytes, together with the seed.

    Each split has ``<split>_per_class`` real images and as many fakes, shared evenly by the families
    (``fake/<family>/``). ``test_per_family`` > 0 instead gives every family that many test fakes, so a
    family left out of training still has a full test set (the cross-generator rows).
    """

    name: str
    size: int
    families: tuple[str, ...]
    train_per_class: int = 400
    valid_per_class: int = 100
    test_per_class: int = 100
    test_per_family: int = 0
    image_format: str = "jpg"
    quality_range: tuple[int, int] = (70, 95)  # inclusive; one seeded draw per matched block of images
    min_crop_scale: float = 1.5  # real crops are downsampled by >= this (capped by the photo's short side)
    min_detail: float = 5.0  # flat crops (sky, blur) are redrawn: their fakes carry no fingerprint
    generator_steps: int = 300
    generator_crops: int = 256
    description: str = ""

    def __post_init__(self) -> None:
        unknown = [f for f in self.families if f not in FAMILIES]
        if unknown or not self.families:
            raise ValueError(f"{self.name}: unknown families {unknown}; choose from {', '.join(FAMILIES)}")
        if self.size % 4 or self.size < 32:
            raise ValueError(f"{self.name}: size {self.size} must be a multiple of 4, >= 32")
        low, high = self.quality_range
        if not 1 <= low <= high <= 100 or self.image_format not in ("jpg", "png"):
            raise ValueError(
                f"{self.name}: bad image_format / quality_range {self.image_format} {low}-{high}"
            )
        for split in SPLITS:
            if self.per_class(split) < len(self.families):
                raise ValueError(f"{self.name}: {split}_per_class must be >= the number of families")

    def per_class(self, split: str) -> int:
        return {"train": self.train_per_class, "valid": self.valid_per_class, "test": self.test_per_class}[
            split
        ]

    def counts(self, split: str) -> dict[str, int]:
        """Images per label in ``split``: ``{"real": n, "<family>": m, ...}`` (fakes per family)."""
        n = self.per_class(split)
        if split == "test" and self.test_per_family:
            return {"real": n, **{f: self.test_per_family for f in self.families}}
        share, extra = divmod(n, len(self.families))
        fakes = {f: share + (i < extra) for i, f in enumerate(self.families)}
        return {"real": n, **fakes}

    def summary(self) -> str:
        """One line for tables and notes."""
        compression = (
            f"JPEG q{self.quality_range[0]}-{self.quality_range[1]}" if self.image_format == "jpg" else "PNG"
        )
        counts = "/".join(str(self.per_class(s)) for s in SPLITS)
        per_family = f", {self.test_per_family} test fakes per family" if self.test_per_family else ""
        return f"{self.size} px, {' + '.join(self.families)}, {compression}, {counts} per class{per_family}"


_CROSS_FAMILIES = ("transposed_conv", "nearest_conv", "bilinear_conv", "pixel_shuffle", "denoiser")

SUITE: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec("tconv128", 128, ("transposed_conv",), description="transposed conv, kernel 4"),
        DatasetSpec("nearest128", 128, ("nearest_conv",), description="nearest upsample + conv"),
        DatasetSpec("bilinear256", 256, ("bilinear_conv",), min_crop_scale=1.25,
                    description="bilinear upsample + conv, 256 px like the Kaggle faces"),
        DatasetSpec("pixelshuffle256", 256, ("pixel_shuffle",), min_crop_scale=1.25,
                    description="sub-pixel conv (pixel shuffle), 256 px"),
        DatasetSpec("denoise128", 128, ("denoiser",), description="DnCNN-style denoiser (no upsampling)"),
        DatasetSpec("cross128", 128, _CROSS_FAMILIES, test_per_family=100,
                    description="every family as fake/<family>/: the leave-one-family-out rows"),
        # Check sets: other sizes, a 4x up-sampler and heavier JPEG. No default was chosen on these.
        DatasetSpec("tconv64", 64, ("transposed_conv",), description="check set: 64 px, smaller than "
                    "the 128 px input"),
        DatasetSpec("nearestx4_192", 192, ("nearest_conv_x4",), description="check set: 4x nearest "
                    "upsampling, 192 px"),
        DatasetSpec("pixelshuffle128_q50", 128, ("pixel_shuffle",), quality_range=(50, 70),
                    description="check set: heavier JPEG, q50-70"),
        DatasetSpec("tconv128_png", 128, ("transposed_conv",), image_format="png",
                    description="tconv128 saved losslessly: what JPEG costs (not in the default suite)"),
    )
}  # fmt: skip
DEFAULT_SUITE: tuple[str, ...] = ("tconv128", "nearest128", "bilinear256", "pixelshuffle256", "denoise128")
# Run by default after the suite, but added only once the defaults were fixed: whether they carry over.
CHECK_SETS: tuple[str, ...] = ("tconv64", "nearestx4_192", "pixelshuffle128_q50")
CROSS_DATASET = "cross128"

QUICK_SIZES = {"train_per_class": 40, "valid_per_class": 10, "test_per_class": 20, "generator_steps": 40}


def role(name: str) -> str:
    """``suite`` (defaults were chosen on it), ``check`` (added after, never tuned on) or ``extra``."""
    return "suite" if name in DEFAULT_SUITE else "check" if name in CHECK_SETS else "extra"


def quick_variant(spec: DatasetSpec) -> DatasetSpec:
    """The same dataset at smoke-test sizes (plumbing only: never used for numbers)."""
    per_family = 20 if spec.test_per_family else 0
    return dataclasses.replace(spec, **QUICK_SIZES, test_per_family=per_family)


def resolve(names: list[str]) -> list[DatasetSpec]:
    """Specs for ``names``; an unknown name is a ``ValueError`` listing the known ones."""
    unknown = [n for n in names if n not in SUITE]
    if unknown:
        raise ValueError(f"unknown suite dataset(s) {', '.join(unknown)}; choose from {', '.join(SUITE)}")
    return [SUITE[n] for n in names]
