"""Write a suite dataset in the Kaggle layout, deterministically, atomically, cached by (spec, seed).

``DIR/real_vs_fake/real-vs-fake/{train,valid,test}/real/NNNNN.jpg`` and ``.../fake/<family>/NNNNN.jpg``
(so ``load_detection_dataset`` records each fake's family in its ``source`` column), beside
``DIR/manifest.csv`` (one row per image: split, label, family, file, photo, crop side, JPEG quality, mean
brightness) and ``DIR/spec.json``. The folder is built under a temporary name and renamed at the end, so
an interrupted run never leaves half a dataset; a folder that already exists for the same key is reused.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.quality.families import synthesize, train_family
from benchmarks.quality.matching import assign_matched
from benchmarks.quality.photos import SUITE_PHOTOS, load_suite_photos
from benchmarks.quality.specs import SPLITS, DatasetSpec
from hf_aidetect.data.demo import KAGGLE_SUBDIR
from hf_aidetect.data.demo.generator import deterministic_torch
from hf_aidetect.data.demo.sources import CropSpec, draw_crops

logger = logging.getLogger(__name__)

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("split", "label", "family", "file", "photo", "crop_side", "quality", "brightness")


@dataclass
class SplitImages:
    """One split's images: pixels plus, per image, its label, crop and JPEG quality (parallel)."""

    pixels: np.ndarray
    labels: np.ndarray
    specs: list[CropSpec]
    quality: np.ndarray


# The sources that decide the pixels: changing one invalidates every cached dataset.
_PIXEL_SOURCES = ("families.py", "matching.py", "photos.py", "writer.py")


def _code_digest() -> str:
    """Hash of the generator code here and of the demo helpers it reuses (crop drawing, determinism)."""
    import hf_aidetect.data.demo.generator as demo_generator
    import hf_aidetect.data.demo.sources as demo_sources

    paths = [Path(__file__).parent / name for name in _PIXEL_SOURCES]
    paths += [Path(demo_sources.__file__), Path(demo_generator.__file__)]
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def dataset_key(spec: DatasetSpec, seed: int, num_threads: int = 1) -> str:
    """Folder name for (spec, seed): the name plus a hash of everything that changes the bytes."""
    import PIL
    import torch

    facts = [dataclasses.asdict(spec), seed, num_threads, _code_digest(), torch.__version__, PIL.__version__]
    digest = hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:12]
    return f"{spec.name}-seed{seed}-{digest}"


def generate(spec: DatasetSpec, seed: int, num_threads: int = 1) -> dict[str, SplitImages]:
    """All splits' pixels, from one seeded stream in a fixed draw order (the bytes depend on it)."""
    photos = load_suite_photos()
    # The name is mixed into the seed, so two datasets of the suite never share their crops.
    rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode())])
    crop_kwargs = {"min_scale": spec.min_crop_scale, "min_detail": spec.min_detail}
    _, generator_crops = draw_crops(photos, spec.generator_crops, spec.size, rng, **crop_kwargs)
    splits = {}
    for split in SPLITS:
        counts = spec.counts(split)
        specs, crops = draw_crops(photos, sum(counts.values()), spec.size, rng, **crop_kwargs)
        assignment = assign_matched(specs, crops, counts, rng, spec.quality_range)
        splits[split] = SplitImages(crops, assignment.labels, specs, assignment.quality)
    with deterministic_torch(seed, num_threads):
        for family in spec.families:
            model = train_family(family, generator_crops, steps=spec.generator_steps)
            for images in splits.values():
                chosen = np.flatnonzero(images.labels == family)
                images.pixels[chosen] = synthesize(family, model, images.pixels[chosen])
    return splits


def save_image(pixels: np.ndarray, path: Path, image_format: str, quality: int) -> None:
    """Both classes go through here: format, quality and chroma subsampling carry no label."""
    image = Image.fromarray(pixels, mode="RGB")
    if image_format == "jpg":
        image.save(path, format="JPEG", quality=int(quality), subsampling="4:2:0", optimize=False)
    else:
        image.save(path, format="PNG", compress_level=6, optimize=False)


def _write(spec: DatasetSpec, splits: dict[str, SplitImages], folder: Path, photos: list[str]) -> None:
    root = folder / KAGGLE_SUBDIR
    rows = []
    for split, images in splits.items():
        for index, label in enumerate(images.labels):
            relative = Path(split) / ("real" if label == "real" else f"fake/{label}") / f"{index:05d}"
            path = root / relative.with_suffix(f".{spec.image_format}")
            path.parent.mkdir(parents=True, exist_ok=True)
            quality = int(images.quality[index]) if spec.image_format == "jpg" else ""
            save_image(images.pixels[index], path, spec.image_format, images.quality[index])
            crop = images.specs[index]
            rows.append({
                "split": split, "label": "real" if label == "real" else "fake",
                "family": "" if label == "real" else label, "file": path.relative_to(folder).as_posix(),
                "photo": photos[crop.photo], "crop_side": crop.side, "quality": quality,
                "brightness": round(float(images.pixels[index].mean()), 3),
            })  # fmt: skip
    with (folder / MANIFEST).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def build_dataset(spec: DatasetSpec, seed: int, cache_root: Path, *, num_threads: int = 1) -> Path:
    """The folder of (spec, seed) under ``cache_root``: reused when present, else generated atomically."""
    key = dataset_key(spec, seed, num_threads)
    final = Path(cache_root) / key
    if (final / MANIFEST).is_file():
        logger.info("Reusing %s", final)
        return final
    started = time.perf_counter()
    splits = generate(spec, seed, num_threads)
    partial = Path(cache_root) / f".{key}.{os.getpid()}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    _write(spec, splits, partial, list(SUITE_PHOTOS))
    seconds = round(time.perf_counter() - started, 1)
    facts = {"spec": dataclasses.asdict(spec), "seed": seed, "key": key, "generation_s": seconds}
    (partial / "spec.json").write_text(json.dumps(facts, indent=2) + "\n")
    try:
        partial.rename(final)
    except OSError:  # another process finished the same key first: keep its copy (same bytes)
        shutil.rmtree(partial, ignore_errors=True)
        if not (final / MANIFEST).is_file():
            raise
    logger.info("Wrote %s in %.1f s", final, seconds)
    return final
