"""``PackOptions``: how ``pack`` cuts and validates; light, so ``hf-aidetect pack --help`` reads its
defaults without importing datasets or torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PackOptions:
    """How ``pack`` cuts and validates (the loader's split options for carving missing splits)."""

    shard_size: int = 500 * 10**6
    seed: int = 42
    validation_size: float | int = 0.1
    test_size: float | int = 0.1
    bad_images: str = "skip"
    validate: bool = True
    num_workers: int | None = None
