"""The decode cache: every image decoded once into memory-mapped Arrow rows of native-resolution RGB.

Multi-epoch runs otherwise pay a JPEG decode per image per epoch. :func:`build_decode_cache` writes each
split once with :meth:`datasets.Dataset.map` into ``cache_dir`` -- raw RGB bytes (``pixels``, a binary
column: reading it back is a memory copy) plus ``height`` / ``width`` -- and returns the splits
memory-mapped from those files. The pixels are the decoded image itself (RGB, EXIF orientation applied),
never resampled, so every geometry reads them exactly as it would read the file; a second call on the
same data reuses the files. Disk: ``width * height * 3`` bytes per image (196 kB at 256 px).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from hf_aidetect.data.images import load_rgb
from hf_aidetect.data.preprocessing.transform import CACHE_HEIGHT, CACHE_PIXELS, CACHE_WIDTH, describe_source
from hf_aidetect.errors import BadImageError

logger = logging.getLogger(__name__)

CACHE_VERSION = 3
CACHE_SUBDIR = "hf_aidetect_decode"
_DONE = "done.json"
_ROWS_PER_PROCESS = 1000


def default_cache_dir() -> Path:
    """``HF_DATASETS_CACHE/hf_aidetect_decode`` (under HF_HOME, ``~/.cache/huggingface`` by default)."""
    import datasets.config

    return Path(datasets.config.HF_DATASETS_CACHE) / CACHE_SUBDIR


def _decode_batch(batch: dict[str, list[Any]], *, image_column: str) -> dict[str, list[Any]]:
    pixels, heights, widths = [], [], []
    for source in batch[image_column]:
        try:
            array = np.asarray(load_rgb(source), dtype=np.uint8)
        except Exception as error:
            raise BadImageError(
                f"decode cache: cannot decode image {describe_source(source)} ({error}); load the data "
                "with bad_images='skip' (the default) so broken files are dropped before caching"
            ) from error
        pixels.append(np.ascontiguousarray(array).tobytes())
        heights.append(array.shape[0])
        widths.append(array.shape[1])
    return {CACHE_PIXELS: pixels, CACHE_HEIGHT: heights, CACHE_WIDTH: widths}


def _cache_key(dataset: datasets.Dataset) -> str:
    raw = f"{CACHE_VERSION}:{dataset._fingerprint}:{len(dataset)}"
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


def _load_done(folder: Path, rows: int) -> datasets.Dataset | None:
    done = folder / _DONE
    if not done.is_file():
        return None
    try:
        meta = json.loads(done.read_text())
        shards = [folder / name for name in meta["files"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a marker from an interrupted or older build: rebuild
    if meta.get("rows") != rows or not all(p.is_file() for p in shards):
        return None
    parts = [datasets.Dataset.from_file(str(p)) for p in shards]  # memory-mapped, no copy
    return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)


def _build_split(
    dataset: datasets.Dataset, folder: Path, image_column: str, num_proc: int | None
) -> datasets.Dataset:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / _DONE).unlink(missing_ok=True)
    features = dataset.features.copy()
    del features[image_column]
    features[CACHE_PIXELS] = datasets.Value("binary")
    features[CACHE_HEIGHT] = datasets.Value("int32")
    features[CACHE_WIDTH] = datasets.Value("int32")
    source = dataset.cast_column(image_column, datasets.Image(decode=False))
    # A process pool costs ~0.4 s to start: below ~1,000 images per process decoding in-process is faster.
    if not (num_proc and num_proc > 1 and len(dataset) >= _ROWS_PER_PROCESS * num_proc):
        num_proc = None
    out = source.map(
        _decode_batch,
        fn_kwargs={"image_column": image_column},
        batched=True,
        batch_size=64,
        writer_batch_size=256,  # 256 x a few MB per Arrow record batch: far from the 2 GB binary limit
        features=features,
        remove_columns=[image_column],
        num_proc=num_proc,
        cache_file_name=str(folder / "data.arrow"),
        load_from_cache_file=False,
        desc="decode cache",
    )
    files = [Path(f["filename"]).name for f in out.cache_files]
    meta = {"version": CACHE_VERSION, "rows": len(out), "files": files}
    marker = folder / f"{_DONE}.tmp"
    marker.write_text(json.dumps(meta))
    marker.replace(folder / _DONE)  # the marker appears only once every shard is complete
    return out


def build_decode_cache(
    dataset_dict: datasets.DatasetDict,
    cache_dir: str | Path,
    num_proc: int | None = None,
    *,
    image_column: str = "image",
) -> datasets.DatasetDict:
    """Decode every split once into ``cache_dir``; return the memory-mapped cached splits.

    The image column is replaced by ``pixels`` / ``height`` / ``width``; all other columns are kept.
    """
    cache_dir = Path(cache_dir)
    out = {}
    for split, dataset in dataset_dict.items():
        folder = cache_dir / f"{split}-{_cache_key(dataset)}"
        cached = _load_done(folder, len(dataset))
        if cached is not None:
            logger.info("Decode cache: reusing %s (%d images).", folder, len(cached))
        else:
            logger.info("Decode cache: %d %s images -> %s", len(dataset), split, folder)
            cached = _build_split(dataset, folder, image_column, num_proc)
        out[split] = cached
    return datasets.DatasetDict(out)
