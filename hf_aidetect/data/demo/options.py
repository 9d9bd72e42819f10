"""What determines the demo dataset's bytes: :class:`DemoDataOptions` and the layout's names.

Kept apart from the writer (numpy, PIL, torch) so ``hf-aidetect demo-data --help`` stays instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hf_aidetect.errors import ConfigError

KAGGLE_SUBDIR = Path("real_vs_fake") / "real-vs-fake"
SPLITS: tuple[str, ...] = ("train", "valid", "test")
FORMATS: tuple[str, ...] = ("jpg", "png")
GENERATOR_FACTOR = 4


@dataclass(frozen=True)
class DemoDataOptions:
    """Everything that determines the demo dataset's bytes (same options -> byte-identical files)."""

    seed: int = 0
    image_size: int = 64
    train_per_class: int = 300
    valid_per_class: int = 60
    test_per_class: int = 100
    image_format: str = "jpg"
    quality: int = 90
    generator_steps: int = 150
    generator_crops: int = 256
    generator_width: int = 32
    min_crop_scale: float = 1.5
    min_detail: float = 5.0
    num_threads: int = 1

    def per_class(self, split: str) -> int:
        """Images per class in ``split`` (``train`` / ``valid`` / ``test``)."""
        return {"train": self.train_per_class, "valid": self.valid_per_class, "test": self.test_per_class}[
            split
        ]

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the flag when a value cannot work."""
        if self.image_size < 16 or self.image_size % GENERATOR_FACTOR:
            raise ConfigError(
                f"--image-size {self.image_size}: use a multiple of {GENERATOR_FACTOR}, >= 16 (e.g. 64)."
            )
        for split in SPLITS:
            if self.per_class(split) < 1:
                raise ConfigError(f"--{split}-per-class must be >= 1 (got {self.per_class(split)}).")
        if self.min_crop_scale < 1.0:
            raise ConfigError(f"--min-crop-scale {self.min_crop_scale}: use a value >= 1 (e.g. 1.5).")
        if self.image_format not in FORMATS:
            raise ConfigError(f"--format {self.image_format!r}: choose one of {', '.join(FORMATS)}.")
        if not 1 <= self.quality <= 100:
            raise ConfigError(f"--quality {self.quality}: use a JPEG quality between 1 and 100 (e.g. 90).")
        for name in ("generator_steps", "generator_crops", "generator_width", "num_threads"):
            if getattr(self, name) < 1:
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag} must be >= 1 (got {getattr(self, name)}).")
