"""Issue 2's acceptance scenario: a Kaggle-layout folder with good, odd-mode and broken files."""

from __future__ import annotations

import numpy as np
from datasets import DatasetDict
from datasets import Image as ImageFeature

from hf_aidetect import load_detection_dataset
from hf_aidetect.data import load_rgb
from hf_aidetect.data.preprocessing import InputSpec, create_transforms, with_transform
from tests.utils import (
    make_kaggle_layout,
    write_cmyk_jpeg,
    write_not_an_image,
    write_png16,
    write_rgba_png,
    write_truncated_jpeg,
    write_zero_byte,
)


def test_kaggle_folder_with_three_broken_files(tmp_path):
    outer, inner = make_kaggle_layout(tmp_path / "kaggle", {"train": 6, "valid": 3, "test": 3})
    train = inner / "train"
    broken = {
        write_truncated_jpeg(train / "real" / "truncated.jpg"),
        write_zero_byte(train / "fake" / "zero.jpg"),
        write_not_an_image(train / "fake" / "text.png"),
    }
    odd = {
        "cmyk": write_cmyk_jpeg(train / "real" / "cmyk.jpg"),
        "png16": write_png16(inner / "valid" / "fake" / "deep.png"),
        "rgba": write_rgba_png(inner / "test" / "real" / "alpha.png"),
    }
    dd, report = load_detection_dataset(outer, return_report=True)

    assert sorted(b.path for b in report.bad_images) == sorted(str(p) for p in broken)
    assert all(b.reason for b in report.bad_images)
    assert report.summary.counts == {
        "train": {"real": 7, "fake": 6},
        "validation": {"real": 3, "fake": 4},
        "test": {"real": 4, "fake": 3},
    }
    kept = {
        row["path"]
        for ds in dd.values()
        for row in ds.cast_column("image", ImageFeature(decode=False))["image"]
    }
    every_image = {str(p) for p in inner.rglob("*.*")}
    assert kept == every_image - {str(p) for p in broken}

    # The odd modes decode to correct RGB, and the eval transform produces finite tensors for them.
    assert (np.asarray(load_rgb(odd["rgba"]))[:, 40:] == 255).all()
    assert np.asarray(load_rgb(odd["png16"])).max() == 255
    assert load_rgb(odd["cmyk"]).mode == "RGB"
    transformed = DatasetDict(
        {
            name: with_transform(split, create_transforms(InputSpec(size=32)).evaluation)
            for name, split in dd.items()
        }
    )
    for split in dd:
        batch = transformed[split][: len(dd[split])]
        assert batch["pixel_values"].shape == (len(dd[split]), 3, 32, 32)
        assert batch["pixel_values"].isfinite().all()
