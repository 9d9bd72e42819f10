"""Device-side preprocessing (hf_aidetect.training.acceleration) agrees with the CPU cached transforms."""

from __future__ import annotations

import datasets
import pytest
import torch

from hf_aidetect.data.cache import build_cached_eval_transform, build_resized_cache
from hf_aidetect.data.transforms import AugmentConfig, PreprocessConfig
from hf_aidetect.training.acceleration import (
    DevicePreprocess,
    DevicePreprocessMixin,
    build_uint8_transform,
    speed_switches,
    to_channels_last,
)
from tests.utils import write_rgb_jpeg

SIZE = 32


@pytest.fixture()
def cached(tmp_path):
    paths = [write_rgb_jpeg(tmp_path / f"{i}.jpg", size=48, seed=i) for i in range(3)]
    ds = datasets.Dataset.from_dict({"image": [str(p) for p in paths], "label": [0, 1, 1]})
    ds = ds.cast_column("image", datasets.Image())
    return build_resized_cache(datasets.DatasetDict(train=ds, test=ds), SIZE, tmp_path / "cache")


def test_uint8_then_device_eval_equals_cached_eval_transform(cached):
    preprocess = PreprocessConfig(image_size=SIZE)
    raw = build_uint8_transform()(cached["test"][:])
    assert raw["pixel_values"].dtype == torch.uint8 and raw["labels"].tolist() == [0, 1, 1]
    on_device = DevicePreprocess(preprocess)(raw["pixel_values"], train=False)
    expected = build_cached_eval_transform(preprocess)(cached["test"][:])["pixel_values"]
    torch.testing.assert_close(on_device, expected)


def test_device_train_preprocess_crops_to_size_and_normalises(cached):
    preprocess = PreprocessConfig(image_size=SIZE)
    pixels = build_uint8_transform()(cached["train"][:])["pixel_values"]
    assert pixels.shape[-1] > SIZE
    out = DevicePreprocess(preprocess, AugmentConfig(), seed=0)(pixels, train=True)
    assert out.shape == (3, 3, SIZE, SIZE) and out.dtype == torch.float32
    assert float(out.min()) >= -1.0 - 1e-5 and float(out.max()) <= 1.0 + 1e-5


def test_mixin_preprocesses_uint8_only():
    class Base:
        def _prepare_inputs(self, inputs):
            return dict(inputs)

    class Trainer(DevicePreprocessMixin, Base):
        model = torch.nn.Linear(1, 1)

    trainer = Trainer()
    trainer.device_preprocess = DevicePreprocess(PreprocessConfig(image_size=4))
    floats = torch.zeros(2, 3, 4, 4)
    assert trainer._prepare_inputs({"pixel_values": floats})["pixel_values"] is floats
    out = trainer._prepare_inputs({"pixel_values": torch.full((2, 3, 8, 8), 255, dtype=torch.uint8)})
    assert out["pixel_values"].shape == (2, 3, 4, 4)
    torch.testing.assert_close(out["pixel_values"], torch.ones(2, 3, 4, 4))


def test_channels_last_and_switches_on_cpu():
    conv = to_channels_last(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3)))
    assert conv[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert speed_switches("cpu") == {"attn_implementation": "sdpa"}


def test_uint8_loader_recompresses_jpeg_for_the_device_path(cached):
    rows = cached["train"][:]
    plain = build_uint8_transform()(rows)["pixel_values"]
    assert not plain.is_contiguous() and plain.is_contiguous(memory_format=torch.channels_last)
    always = AugmentConfig(jpeg_prob=1.0, jpeg_quality=(20, 30))
    first = build_uint8_transform(always, seed=0)(rows)["pixel_values"]
    again = build_uint8_transform(always, seed=0)(rows)["pixel_values"]
    assert first.dtype == torch.uint8 and first.shape == plain.shape
    assert torch.equal(first, again)  # seeded
    assert not torch.equal(first, plain)  # every image re-encoded at quality 20-30
    never = build_uint8_transform(AugmentConfig(jpeg_prob=0.0), seed=0)(rows)["pixel_values"]
    assert torch.equal(never, plain)
