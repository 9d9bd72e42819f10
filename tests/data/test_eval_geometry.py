"""Eval geometry matches the checkpoint's own image processor (what ``pipeline`` feeds the model)."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest
import torch
from PIL import Image

from hf_aidetect.data.cache import build_cached_eval_transform, build_resized_cache
from hf_aidetect.data.transforms import (
    PreprocessConfig,
    build_eval_transform,
    eval_crop_box,
    with_detection_transform,
)
from hf_aidetect.errors import ConfigError
from tests.utils import rgb_array, write_rgb_png

WIDE = Image.fromarray(rgb_array((80, 48), seed=7))  # non-square: squash and center crop differ
TALL = Image.fromarray(rgb_array((41, 77), seed=8))


def _processors() -> dict[str, object]:
    from transformers import (
        BitImageProcessor,
        ConvNextImageProcessor,
        DeiTImageProcessor,
        ViTImageProcessor,
    )

    return {
        "vit32": ViTImageProcessor(size={"height": 32, "width": 32}),
        "vit64": ViTImageProcessor(size={"height": 64, "width": 64}),
        "bit": BitImageProcessor(
            size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}, do_center_crop=True
        ),
        "bit_crop": BitImageProcessor(
            size={"shortest_edge": 37}, crop_size={"height": 32, "width": 32}, do_center_crop=True
        ),
        "convnext": ConvNextImageProcessor(size={"shortest_edge": 32}),
        "deit": DeiTImageProcessor(size={"height": 40, "width": 40}, crop_size={"height": 32, "width": 32}),
    }


@pytest.mark.parametrize("name", ["vit32", "vit64", "bit", "bit_crop", "convnext", "deit"])
@pytest.mark.parametrize("image", [WIDE, TALL], ids=["wide", "tall"])
def test_eval_transform_equals_the_image_processor(name, image):
    processor = _processors()[name]
    preprocess = PreprocessConfig.from_image_processor(processor)
    ours = build_eval_transform(preprocess)({"image": [image]})["pixel_values"]
    theirs = processor(images=image, return_tensors="pt")["pixel_values"]
    torch.testing.assert_close(ours, theirs.float(), atol=1e-5, rtol=0)


def test_from_image_processor_picks_the_crop_mode():
    from transformers import CLIPImageProcessor, ConvNextImageProcessor

    procs = _processors()
    modes = {name: PreprocessConfig.from_image_processor(p) for name, p in procs.items()}
    assert (modes["vit32"].eval_crop, modes["vit32"].crop_pct) == ("full", 1.0)
    assert (modes["deit"].eval_crop, modes["deit"].crop_pct) == ("full", pytest.approx(0.8))
    assert (modes["bit"].eval_crop, modes["bit"].crop_pct) == ("center", 1.0)
    assert (modes["convnext"].eval_crop, modes["convnext"].crop_pct) == ("center", 0.875)
    assert PreprocessConfig.from_image_processor(CLIPImageProcessor()).eval_crop == "center"
    convnext_384 = PreprocessConfig.from_image_processor(ConvNextImageProcessor())  # warps, no crop_pct
    assert (convnext_384.eval_crop, convnext_384.crop_pct) == ("full", 1.0)
    with pytest.raises(ConfigError, match="eval_crop"):
        PreprocessConfig(eval_crop="letterbox")  # type: ignore[arg-type]


def test_eval_crop_box():
    assert eval_crop_box((80, 48), 32, 1.0, "full") == (0.0, 0.0, 80.0, 48.0)
    left, top, right, bottom = eval_crop_box((80, 48), 32, 1.0, "center")
    assert top == 0.0 and bottom == 48.0 and right - left == pytest.approx(48, abs=2)


@pytest.mark.parametrize("eval_crop", ["center", "full"])
def test_cache_stores_the_eval_geometry(tmp_path: Path, eval_crop: str):
    paths = [write_rgb_png(tmp_path / "img" / f"{i}.png", size=(64, 40), seed=i) for i in range(2)]
    ds = datasets.Dataset.from_dict({"image": [str(p) for p in paths], "label": [0, 1]})
    ds = ds.cast_column("image", datasets.Image())
    splits = datasets.DatasetDict(test=ds)
    preprocess = PreprocessConfig(image_size=32, eval_crop=eval_crop)
    cached = build_resized_cache(splits, 32, tmp_path / "cache", eval_crop=eval_crop)
    expected = with_detection_transform(ds, build_eval_transform(preprocess))[:]["pixel_values"]
    got = build_cached_eval_transform(preprocess)(cached["test"][:])["pixel_values"]
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    other = "full" if eval_crop == "center" else "center"
    again = build_resized_cache(splits, 32, tmp_path / "cache", eval_crop=other)  # its own cache entry
    assert again["test"].cache_files[0]["filename"] != cached["test"].cache_files[0]["filename"]
