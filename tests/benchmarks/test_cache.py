"""Correctness of the optional pre-resize cache (hf_aidetect.data.cache); no timing here."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest
import torch

from hf_aidetect.data.cache import (
    apply_preresize_cache,
    build_cached_eval_transform,
    build_cached_train_transform,
    build_resized_cache,
    cache_side,
    decode_cached,
)
from hf_aidetect.data.tensor_ops import random_resized_crop_flip
from hf_aidetect.data.transforms import AugmentConfig, PreprocessConfig, build_eval_transform
from tests.utils import write_exif_rotated_jpeg, write_rgb_jpeg, write_rgb_png

SIZE = 32


@pytest.fixture()
def dataset_dict(tmp_path: Path) -> datasets.DatasetDict:
    paths = [
        write_rgb_jpeg(tmp_path / "img" / "a.jpg", size=48, seed=1),
        write_rgb_png(tmp_path / "img" / "b.png", size=(64, 40), seed=2),
        write_exif_rotated_jpeg(tmp_path / "img" / "c.jpg", size=(64, 32), orientation=6),
        write_rgb_jpeg(tmp_path / "img" / "d.jpg", size=40, seed=3),
    ]
    data = {"image": [str(p) for p in paths], "label": [0, 1, 0, 1]}
    ds = datasets.Dataset.from_dict(data).cast_column("image", datasets.Image())
    return datasets.DatasetDict(train=ds, test=ds)


def test_cached_eval_pixels_equal_on_the_fly_transform(dataset_dict, tmp_path):
    cached = build_resized_cache(dataset_dict, SIZE, tmp_path / "cache")
    preprocess = PreprocessConfig(image_size=SIZE)
    on_the_fly = dataset_dict["test"].cast_column("image", datasets.Image(decode=False))
    expected = build_eval_transform(preprocess)(on_the_fly[:])
    got = build_cached_eval_transform(preprocess)(cached["test"][:])
    assert got["pixel_values"].shape == (4, 3, SIZE, SIZE)
    torch.testing.assert_close(got["pixel_values"], expected["pixel_values"], atol=1e-5, rtol=0)
    assert got["labels"].tolist() == [0, 1, 0, 1]


def test_train_split_keeps_the_typical_native_resolution(dataset_dict, tmp_path):
    cached = build_resized_cache(dataset_dict, SIZE, tmp_path / "cache")
    # shorter sides 48, 40, 32 (EXIF-rotated 64x32) and 40: the median, 40, is kept (under the 2x cap)
    assert cache_side(SIZE, "train", 40) == 40 and cache_side(SIZE, "train", 500) == 2 * SIZE
    assert cache_side(SIZE, "test", 40) == SIZE
    pixels = decode_cached(cached["train"][:]["image"])
    assert pixels.dtype == torch.uint8 and pixels.shape == (4, 3, 40, 40)
    from PIL import Image

    native = np.asarray(Image.open(dataset_dict["train"][3]["image"].filename).convert("RGB"))
    assert np.array_equal(pixels[3].permute(1, 2, 0).numpy(), native)  # 40 px image: stored untouched
    original = Image.open(dataset_dict["train"][0]["image"].filename).convert("RGB")
    ref = np.asarray(original.resize((40, 40), Image.BILINEAR))  # 48 px image: one PIL bilinear resize
    diff = np.abs(pixels[0].permute(1, 2, 0).numpy().astype(int) - ref.astype(int))
    assert diff.max() <= 1


def test_cache_is_memory_mapped_and_reused(dataset_dict, tmp_path):
    first = build_resized_cache(dataset_dict, SIZE, tmp_path / "cache")
    files = sorted(f["filename"] for f in first["train"].cache_files)
    assert files and all(Path(f).is_relative_to(tmp_path / "cache") for f in files)
    mtimes = [Path(f).stat().st_mtime_ns for f in files]
    second = build_resized_cache(dataset_dict, SIZE, tmp_path / "cache")
    assert sorted(f["filename"] for f in second["train"].cache_files) == files
    assert [Path(f).stat().st_mtime_ns for f in files] == mtimes  # not rewritten
    assert second["train"][:]["image"] == first["train"][:]["image"]
    # memory-mapped: the table is backed by the Arrow file, not held in RAM
    assert type(second["train"].data).__name__ == "MemoryMappedTable"
    # another size is another cache entry
    other = build_resized_cache(dataset_dict, SIZE // 2, tmp_path / "cache")
    assert sorted(f["filename"] for f in other["train"].cache_files) != files


def test_cached_train_transform_shapes_range_and_seed(dataset_dict, tmp_path):
    cached = build_resized_cache(dataset_dict, SIZE, tmp_path / "cache")
    preprocess = PreprocessConfig(image_size=SIZE)
    augment = AugmentConfig(jpeg_prob=0.5, blur_prob=0.5)
    batch = cached["train"][:]
    a = build_cached_train_transform(preprocess, augment, seed=3)(batch)
    b = build_cached_train_transform(preprocess, augment, seed=3)(batch)
    c = build_cached_train_transform(preprocess, augment, seed=4)(batch)
    assert a["pixel_values"].shape == (4, 3, SIZE, SIZE) and a["pixel_values"].dtype == torch.float32
    assert float(a["pixel_values"].min()) >= -1.0 - 1e-6
    assert float(a["pixel_values"].max()) <= 1.0 + 1e-6
    assert torch.equal(a["pixel_values"], b["pixel_values"])
    assert not torch.equal(a["pixel_values"], c["pixel_values"])


def test_random_resized_crop_flip_full_crop_is_resize_or_mirror():
    pixels = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8) % 256
    pixels = pixels.to(torch.uint8)
    out = random_resized_crop_flip(pixels, 8, scale=(1.0, 1.0), ratio=(1.0, 1.0), hflip_prob=1.0)
    assert torch.equal(out, pixels.flip(-1))
    kept = random_resized_crop_flip(pixels, 8, scale=(1.0, 1.0), ratio=(1.0, 1.0), hflip_prob=0.0)
    assert torch.equal(kept, pixels)


def test_apply_preresize_cache_feeds_a_dataloader(dataset_dict, tmp_path):
    preprocess = PreprocessConfig(image_size=SIZE)
    cache_dir = tmp_path / "cache"
    ready = apply_preresize_cache(dataset_dict, preprocess, cache_dir, augment=AugmentConfig(), seed=0)
    loader = torch.utils.data.DataLoader(ready["train"], batch_size=2)
    batches = list(loader)
    assert len(batches) == 2
    assert batches[0]["pixel_values"].shape == (2, 3, SIZE, SIZE)
    assert batches[0]["labels"].dtype == torch.int64


def test_process_pool_build_equals_in_process_build(dataset_dict, tmp_path, monkeypatch):
    import hf_aidetect.data.cache as cache

    serial = build_resized_cache(dataset_dict, SIZE, tmp_path / "serial")
    monkeypatch.setattr(cache, "_ROWS_PER_PROCESS", 1)  # 4 images are enough for 2 processes
    pooled = build_resized_cache(dataset_dict, SIZE, tmp_path / "pooled", num_proc=2)
    for split in ("train", "test"):
        assert pooled[split]["image"] == serial[split]["image"]
        assert len(pooled[split].cache_files) >= 2  # one shard per process: the pool really ran
