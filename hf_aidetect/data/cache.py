"""Optional one-time pre-resize cache: decode and resize every image once, keep uint8 pixels in Arrow.

Multi-epoch runs otherwise pay a JPEG decode and a resize per image per epoch. :func:`build_resized_cache`
writes each split once, with :meth:`datasets.Dataset.map`, into ``cache_dir`` as raw RGB bytes (a
``binary`` column: reading it back is a memory copy, ~50k images/s, where an ``Array3D`` column decodes
through Python at ~10k/s) and returns the splits memory-mapped from those files. A second call with the
same data and size reuses the files. :func:`build_cached_train_transform` and
:func:`build_cached_eval_transform` turn such a batch into ``pixel_values`` with torch ops only: random
resized crop + flip through torch's uint8 antialiased bilinear kernel (one ``grid_sample`` for the whole
batch on an accelerator), normalisation as one fused multiply-add. :func:`apply_preresize_cache` does it all
for a recipe in one call.

Geometry: the train split keeps the images' own resolution (largest centred square of the typical
shorter side, capped at ``max_train_scale * image_size``), so a random crop is resampled once, from the
decoded pixels, as on the fly: a detector learns from the generator's high-frequency fingerprints, and an
extra resize before the crop erases them (caching 128 px demo images at 110 px cut test accuracy from
0.99 to 0.83). The other splits are stored exactly as
:class:`~hf_aidetect.data.transforms.EvalTransform` produces them (same code), so cached evaluation equals
on-the-fly evaluation (``eval_crop`` included: squashed for ``"full"``, and part of the cache key); a train
split evaluated as is (no augmentation) shows the centred square, not a squash. Disk cost:
``side * side * 3`` bytes per image (196 kB at 256 px, 20 GB for 100k).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from hf_aidetect.data.images import open_image, oriented_size
from hf_aidetect.data.tensor_ops import (
    SeededPerWorker,
    blur_some,
    jpeg_roundtrip,
    normalize,
    random_resized_crop_flip,
)
from hf_aidetect.data.transforms import EvalTransform, PreprocessConfig
from hf_aidetect.errors import BadImageError

logger = logging.getLogger(__name__)

CACHE_VERSION = 2
DEFAULT_MAX_TRAIN_SCALE = 2.0
_DONE = "done.json"
_SIZE_SAMPLE = 32
_ROWS_PER_PROCESS = 1000


def typical_short_side(dataset: datasets.Dataset, image_column: str = "image") -> int | None:
    """Median shorter side (EXIF-oriented) of the first images, read from headers only; None if unknown."""
    sample = dataset.cast_column(image_column, datasets.Image(decode=False))
    sides = []
    for source in sample[: min(_SIZE_SAMPLE, len(sample))][image_column]:
        try:
            sides.append(min(oriented_size(open_image(source))))
        except Exception:  # unreadable files are the validation pass's business, not this estimate's
            continue
    return int(np.median(sides)) if sides else None


def cache_side(
    image_size: int,
    split: str,
    native_side: int | None = None,
    max_train_scale: float = DEFAULT_MAX_TRAIN_SCALE,
) -> int:
    """Side stored for ``split``: eval splits ``image_size``; train the native side, capped, else 2x size."""
    if split != "train":
        return int(image_size)
    cap = math.ceil(image_size * max_train_scale)
    return min(native_side, cap) if native_side else cap


def _encode_batch(
    batch: dict[str, list[Any]],
    *,
    image_column: str,
    side: int,
    resample: int,
    crop_pct: float,
    eval_crop: str = "center",
) -> dict[str, list[bytes]]:
    # The eval transform's own geometry (EXIF, RGB, draft decode, resize + centre crop or squash), so a
    # cached eval split equals the on-the-fly eval transform before normalisation.
    config = PreprocessConfig(image_size=side, resample=resample, crop_pct=crop_pct, eval_crop=eval_crop)
    transform = EvalTransform(config)
    pixels = []
    for source in batch[image_column]:
        try:
            pixels.append(np.ascontiguousarray(transform._image(source), dtype=np.uint8).tobytes())
        except Exception as exc:
            where = source.get("path") if isinstance(source, dict) else source
            raise BadImageError(
                f"pre-resize cache: cannot decode image {where!r} ({exc}); load the data with "
                "bad_images='skip' (the default) so broken files are dropped before caching"
            ) from exc
    return {image_column: pixels}


def _cache_key(
    dataset: datasets.Dataset, side: int, resample: int, crop_pct: float, eval_crop: str = "center"
) -> str:
    raw = f"{CACHE_VERSION}:{dataset._fingerprint}:{len(dataset)}:{side}:{resample}:{crop_pct}:{eval_crop}"
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


def _load_done(folder: Path) -> datasets.Dataset | None:
    done = folder / _DONE
    if not done.is_file():
        return None
    meta = json.loads(done.read_text())
    shards = [folder / name for name in meta["files"]]
    if not all(p.is_file() for p in shards):
        return None
    parts = [datasets.Dataset.from_file(str(p)) for p in shards]  # memory-mapped, no copy
    return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)


def _build_split(
    dataset: datasets.Dataset,
    folder: Path,
    side: int,
    *,
    image_column: str,
    resample: int,
    crop_pct: float,
    eval_crop: str,
    num_proc: int | None,
) -> datasets.Dataset:
    folder.mkdir(parents=True, exist_ok=True)
    features = dataset.features.copy()
    features[image_column] = datasets.Value("binary")
    source = dataset.cast_column(image_column, datasets.Image(decode=False))
    # A process pool costs ~0.4 s to start: below ~1,000 images per process decoding in-process is faster.
    num_proc = (
        num_proc if num_proc and num_proc > 1 and len(dataset) >= _ROWS_PER_PROCESS * num_proc else None
    )
    out = source.map(
        _encode_batch,
        fn_kwargs={
            "image_column": image_column,
            "side": side,
            "resample": resample,
            "crop_pct": crop_pct,
            "eval_crop": eval_crop,
        },
        batched=True,
        batch_size=64,
        writer_batch_size=512,  # 512 x <= 0.6 MB per Arrow record batch: far from the 2 GB binary limit
        features=features,
        num_proc=num_proc,
        cache_file_name=str(folder / "data.arrow"),
        load_from_cache_file=False,
        desc=f"pre-resize cache {side}px",
    )
    files = [Path(f["filename"]).name for f in out.cache_files]
    meta = {"version": CACHE_VERSION, "side": side, "rows": len(out), "files": files}
    (folder / _DONE).write_text(json.dumps(meta))
    return out


def build_resized_cache(
    dataset_dict: datasets.DatasetDict,
    size: int,
    cache_dir: str | Path,
    num_proc: int | None = None,
    *,
    image_column: str = "image",
    max_train_scale: float = DEFAULT_MAX_TRAIN_SCALE,
    resample: int = Image.BILINEAR,
    crop_pct: float = 1.0,
    eval_crop: str = "center",
) -> datasets.DatasetDict:
    """Decode + resize every split once into ``cache_dir``; return the memory-mapped cached splits.

    The returned ``image_column`` holds raw RGB uint8 bytes of a ``side x side`` square (see
    :func:`cache_side`); all other columns are kept. Reused when called again on the same data and size.
    ``crop_pct`` / ``eval_crop`` are the eval splits' geometry (:class:`PreprocessConfig`'s).
    """
    cache_dir = Path(cache_dir)
    out = {}
    for split, dataset in dataset_dict.items():
        native = typical_short_side(dataset, image_column) if split == "train" else None
        side = cache_side(size, split, native, max_train_scale)
        # Train keeps the largest centred square, unsquashed, for its random crops.
        pct, mode = (1.0, "center") if split == "train" else (crop_pct, eval_crop)
        folder = cache_dir / f"{split}-{side}px-{_cache_key(dataset, side, resample, pct, mode)}"
        cached = _load_done(folder)
        if cached is not None and len(cached) == len(dataset):
            logger.info("pre-resize cache: reusing %s (%d images, %d px)", folder, len(cached), side)
            out[split] = cached
            continue
        logger.info("pre-resize cache: %d %s images at %d px -> %s", len(dataset), split, side, folder)
        out[split] = _build_split(
            dataset,
            folder,
            side,
            image_column=image_column,
            resample=resample,
            crop_pct=pct,
            eval_crop=mode,
            num_proc=num_proc,
        )
    return datasets.DatasetDict(out)


def decode_cached(images: Sequence[bytes]) -> torch.Tensor:
    """Raw RGB bytes from the cache -> uint8 tensor ``[B, 3, S, S]`` (a channels-last view, one copy)."""
    length = len(images[0])
    side = math.isqrt(length // 3)
    flat = np.empty(len(images) * length, dtype=np.uint8)
    for i, blob in enumerate(images):
        flat[i * length : (i + 1) * length] = np.frombuffer(blob, dtype=np.uint8)
    return torch.from_numpy(flat.reshape(len(images), side, side, 3)).permute(0, 3, 1, 2)


class CachedTrainTransform(SeededPerWorker):
    """``with_transform`` callable for a cached train split: crop/flip (+ optional JPEG, blur), normalise.

    Picklable for data-loader workers; with a ``seed`` each worker draws from its own seeded stream.
    """

    def __init__(self, preprocess: Any, augment: Any = None, seed: int | None = None) -> None:
        self.preprocess, self.augment, self.seed = preprocess, augment, seed
        self._generator = None

    def augment_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 ``[B, 3, S, S]`` -> augmented 0..255 ``[B, 3, size, size]`` (runs on any device)."""
        aug, gen = self.augment, self._rng()
        out = random_resized_crop_flip(
            pixels,
            int(self.preprocess.image_size),
            scale=tuple(getattr(aug, "crop_scale", (0.6, 1.0))),
            ratio=tuple(getattr(aug, "crop_ratio", (3 / 4, 4 / 3))),
            hflip_prob=float(getattr(aug, "hflip_prob", 0.5)),
            generator=gen,
        )
        jpeg_prob, blur_prob = float(getattr(aug, "jpeg_prob", 0.0)), float(getattr(aug, "blur_prob", 0.0))
        if jpeg_prob > 0 or blur_prob > 0:
            out = out.float()
            draws = torch.rand(len(out), 4, generator=gen)
            q_lo, q_hi = getattr(aug, "jpeg_quality", (60, 95))
            for i in torch.nonzero(draws[:, 0] < jpeg_prob).flatten().tolist():  # per image: PIL encodes
                out[i] = jpeg_roundtrip(out[i], round(q_lo + (q_hi - q_lo) * float(draws[i, 1])))
            out = blur_some(out, draws[:, 2] < blur_prob, draws[:, 3], getattr(aug, "blur_sigma", (0.1, 1.5)))
        return out

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, torch.Tensor]:
        pixels = self.augment_pixels(decode_cached(batch["image"]))
        out = {"pixel_values": normalize(pixels, self.preprocess.mean, self.preprocess.std)}
        if "label" in batch:
            out["labels"] = torch.as_tensor(batch["label"], dtype=torch.int64)
        return out


class CachedEvalTransform:
    """``with_transform`` callable for a cached eval split: (resize if the cache side differs), normalise."""

    def __init__(self, preprocess: Any) -> None:
        self.preprocess = preprocess

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, torch.Tensor]:
        pixels = decode_cached(batch["image"])
        size = int(self.preprocess.image_size)
        if pixels.shape[-1] != size:  # e.g. a train-side cache evaluated: resize + centre crop match
            pixels = pixels if pixels.device.type == "cpu" else pixels.float()  # uint8 kernel: CPU only
            pixels = F.interpolate(pixels, size=(size, size), mode="bilinear", antialias=True)
        out = {"pixel_values": normalize(pixels, self.preprocess.mean, self.preprocess.std)}
        if "label" in batch:
            out["labels"] = torch.as_tensor(batch["label"], dtype=torch.int64)
        return out


def build_cached_train_transform(preprocess: Any, augment: Any = None, seed: int | None = None) -> Any:
    """Train transform for a split from :func:`build_resized_cache` (same configs as the PIL transforms)."""
    return CachedTrainTransform(preprocess, augment, seed)


def build_cached_eval_transform(preprocess: Any) -> Any:
    """Eval transform for a split from :func:`build_resized_cache`."""
    return CachedEvalTransform(preprocess)


def apply_preresize_cache(
    dataset_dict: datasets.DatasetDict,
    preprocess: Any,
    cache_dir: str | Path,
    *,
    augment: Any = None,
    seed: int | None = None,
    num_proc: int | None = None,
    train_split: str = "train",
) -> datasets.DatasetDict:
    """Recipe one-liner: cache every split, attach the cached train / eval transforms (``with_transform``).

    ``preprocess`` / ``augment`` are the same :class:`PreprocessConfig` / ``AugmentConfig`` the PIL path
    takes; ``augment=None`` on the train split means no augmentation (eval geometry at the train size).
    """
    cached = build_resized_cache(
        dataset_dict,
        preprocess.image_size,
        cache_dir,
        num_proc,
        resample=preprocess.resample,
        crop_pct=getattr(preprocess, "crop_pct", 1.0),
        eval_crop=getattr(preprocess, "eval_crop", "center"),
    )
    out = {}
    for split, dataset in cached.items():
        if split == train_split and augment is not None:
            out[split] = dataset.with_transform(build_cached_train_transform(preprocess, augment, seed))
        else:
            out[split] = dataset.with_transform(build_cached_eval_transform(preprocess))
    return datasets.DatasetDict(out)
