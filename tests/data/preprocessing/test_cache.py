"""The decode cache: native pixels once, equal results to decoding the files, reuse, interrupted builds."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest
import torch

from hf_aidetect.data.images import load_rgb
from hf_aidetect.data.preprocessing import (
    AugmentConfig,
    InputSpec,
    PipelineConfig,
    PreprocessConfig,
    create_transforms,
    prepare_splits,
)
from hf_aidetect.data.preprocessing.cache import build_decode_cache
from tests.data.preprocessing.conftest import SIZE


@pytest.fixture
def dataset_dict(image_paths: list[Path]) -> datasets.DatasetDict:
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=["real", "fake"])}
    )
    rows = {"image": [str(p) for p in image_paths], "label": [i % 2 for i in range(len(image_paths))]}
    split = datasets.Dataset.from_dict(rows, features=features)
    return datasets.DatasetDict(train=split, validation=split, test=split)


def test_cache_holds_the_decoded_native_pixels(dataset_dict, image_paths, tmp_path):
    cached = build_decode_cache(dataset_dict, tmp_path / "cache")
    rows = cached["train"]
    assert "image" not in rows.column_names and rows.column_names[:1] == ["label"]
    for i, path in enumerate(image_paths):
        expected = np.asarray(load_rgb(str(path)))
        pixels = np.frombuffer(rows[i]["pixels"], dtype=np.uint8).reshape(
            rows[i]["height"], rows[i]["width"], 3
        )
        np.testing.assert_array_equal(pixels, expected)


@pytest.mark.parametrize("geometry", ["crop", "resize"])
def test_cached_splits_give_the_file_pixels(dataset_dict, tmp_path, geometry):
    spec = InputSpec(size=SIZE, geometry=geometry, use_draft=False)
    transforms = create_transforms(
        spec, PreprocessConfig(geometry=geometry), AugmentConfig(jpeg_prob=0.5), seed=2
    )
    plain = prepare_splits(dataset_dict, transforms)
    cached = prepare_splits(
        dataset_dict, transforms, PipelineConfig(decode_cache=True, decode_cache_dir=str(tmp_path))
    )
    keys = list(range(6)) + [6 + i for i in range(6)]  # epochs 0 and 1
    for name in ("train", "validation", "train_eval"):
        ours, theirs = cached[name].__getitems__(keys), plain[name].__getitems__(keys)
        torch.testing.assert_close(ours["pixel_values"], theirs["pixel_values"], atol=1e-5, rtol=0)
        assert torch.equal(ours["labels"], theirs["labels"])


def test_cache_is_reused_and_rebuilt_after_an_interrupted_build(dataset_dict, tmp_path):
    first = build_decode_cache(dataset_dict, tmp_path)
    again = build_decode_cache(dataset_dict, tmp_path)
    assert again["train"].cache_files == first["train"].cache_files
    marker = Path(first["train"].cache_files[0]["filename"]).parent / "done.json"
    marker.write_text("{not json")  # a build killed while writing its marker
    rebuilt = build_decode_cache(dataset_dict, tmp_path)
    assert len(rebuilt["train"]) == len(dataset_dict["train"]) and marker.read_text().startswith("{")
