"""Batched transforms: shapes, dtypes, normalisation, determinism, augmentation switches, workers."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from datasets import ClassLabel, Dataset, Features
from datasets import Image as ImageFeature
from PIL import Image

from hf_aidetect.data.transforms import (
    AugmentConfig,
    PreprocessConfig,
    build_eval_transform,
    build_train_transform,
    with_detection_transform,
)
from hf_aidetect.errors import BadImageError, ConfigError
from tests.utils import write_rgb_jpeg, write_rgb_png, write_zero_byte

SIZE = 24
PRE = PreprocessConfig(image_size=SIZE)


@pytest.fixture
def images(tmp_path) -> list[dict]:
    """Six undecoded image dicts of mixed shapes and formats (what with_detection_transform passes)."""
    paths = [write_rgb_jpeg(tmp_path / f"{i}.jpg", size=(48, 32), seed=i) for i in range(3)]
    paths += [write_rgb_png(tmp_path / f"{i}.png", size=(40, 56), seed=i) for i in range(3)]
    return [{"path": str(p), "bytes": None} for p in paths]


def _batch(images, labels=True):
    out = {"image": images}
    if labels:
        out["label"] = [i % 2 for i in range(len(images))]
    return out


def test_eval_shapes_dtypes_and_range(images):
    out = build_eval_transform(PRE)(_batch(images))
    assert out["pixel_values"].shape == (6, 3, SIZE, SIZE)
    assert out["pixel_values"].dtype == torch.float32
    assert out["pixel_values"].is_contiguous()
    assert out["labels"].dtype == torch.int64 and out["labels"].tolist() == [0, 1, 0, 1, 0, 1]
    assert out["pixel_values"].min() >= -1.0 - 1e-6 and out["pixel_values"].max() <= 1.0 + 1e-6
    assert "labels" not in build_eval_transform(PRE)(_batch(images, labels=False))


def test_train_shapes_dtypes_and_range(images):
    pre = PreprocessConfig(image_size=SIZE, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    aug = AugmentConfig(jpeg_prob=0.5, blur_prob=0.5)
    out = build_train_transform(pre, aug, seed=0)(_batch(images))
    assert out["pixel_values"].shape == (6, 3, SIZE, SIZE) and out["pixel_values"].dtype == torch.float32
    low = (0 - torch.tensor(pre.mean)) / torch.tensor(pre.std) - 1e-5
    high = (1 - torch.tensor(pre.mean)) / torch.tensor(pre.std) + 1e-5
    per_channel = out["pixel_values"].transpose(0, 1).reshape(3, -1)
    assert (per_channel.min(1).values >= low - 1e-5).all() and (
        per_channel.max(1).values <= high + 1e-5
    ).all()
    assert out["labels"].dtype == torch.int64


def test_normalisation_is_exact(tmp_path):
    path = tmp_path / "flat.png"
    Image.new("RGB", (30, 20), (255, 0, 51)).save(path)
    pre = PreprocessConfig(image_size=8, mean=(0.5, 0.25, 0.2), std=(0.5, 0.25, 0.1))
    pixels = build_eval_transform(pre)({"image": [str(path)]})["pixel_values"][0]
    expected = torch.tensor([(1.0 - 0.5) / 0.5, (0.0 - 0.25) / 0.25, (0.2 - 0.2) / 0.1])
    assert torch.allclose(pixels.mean((1, 2)), expected, atol=1e-5)


def test_eval_is_center_crop_plus_resize(images):
    out = build_eval_transform(PRE)(_batch(images[:1]))["pixel_values"][0]
    with Image.open(images[0]["path"]) as image:
        reference = image.convert("RGB").crop((8, 0, 40, 32)).resize((SIZE, SIZE), Image.Resampling.BILINEAR)
    expected = torch.from_numpy(np.array(reference)).permute(2, 0, 1).float() / 127.5 - 1
    # resize(box=...) filters with the real neighbours outside the crop, crop() clamps: compare the interior.
    assert torch.allclose(out[:, 1:-1, 1:-1], expected[:, 1:-1, 1:-1], atol=1e-5)
    assert (out - expected).abs().max() < 0.1


def test_eval_accepts_paths_bytes_and_decoded_images(images):
    transform = build_eval_transform(PRE)
    reference = transform(_batch(images))["pixel_values"]
    paths = [item["path"] for item in images]
    for variant in (
        paths,
        [open(p, "rb").read() for p in paths],  # noqa: SIM115 - tiny test files
        [Image.open(p) for p in paths],
    ):
        assert torch.equal(transform({"image": variant})["pixel_values"], reference)


def test_train_is_deterministic_under_a_seed(images):
    aug = AugmentConfig(jpeg_prob=0.5, blur_prob=0.5)
    first = build_train_transform(PRE, aug, seed=7)
    second = build_train_transform(PRE, aug, seed=7)
    a1, a2 = first(_batch(images))["pixel_values"], first(_batch(images))["pixel_values"]
    b1, b2 = second(_batch(images))["pixel_values"], second(_batch(images))["pixel_values"]
    assert torch.equal(a1, b1) and torch.equal(a2, b2)
    assert not torch.equal(a1, a2)  # the stream advances between calls
    assert not torch.equal(a1, build_train_transform(PRE, aug, seed=8)(_batch(images))["pixel_values"])


def test_seed_none_follows_torch_seed(images):
    torch.manual_seed(3)
    a = build_train_transform(PRE, seed=None)(_batch(images))["pixel_values"]
    torch.manual_seed(3)
    assert torch.equal(a, build_train_transform(PRE, seed=None)(_batch(images))["pixel_values"])


def test_flip_probability(images):
    full = AugmentConfig(crop_scale=(1.0, 1.0), crop_ratio=(1.5, 1.5))  # whole 48x32 frame every time
    never = build_train_transform(PRE, AugmentConfig(**{**full.__dict__, "hflip_prob": 0.0}), seed=0)
    always = build_train_transform(PRE, AugmentConfig(**{**full.__dict__, "hflip_prob": 1.0}), seed=0)
    a = never(_batch(images[:3]))["pixel_values"]
    b = always(_batch(images[:3]))["pixel_values"]
    assert torch.equal(a.flip(-1), b)


@pytest.mark.parametrize("switch", ["jpeg_prob", "blur_prob"])
def test_jpeg_and_blur_change_pixels_only_when_on(images, switch):
    base = build_train_transform(PRE, AugmentConfig(), seed=1)(_batch(images))["pixel_values"]
    off = build_train_transform(PRE, AugmentConfig(**{switch: 0.0}), seed=1)(_batch(images))["pixel_values"]
    on = build_train_transform(PRE, AugmentConfig(**{switch: 1.0}), seed=1)(_batch(images))["pixel_values"]
    assert torch.equal(base, off)
    per_image = (on - base).abs().flatten(1).mean(1)
    assert (per_image > 1e-3).all()  # every image altered; geometry identical (same random stream)
    assert (per_image < 0.5).all()


def test_draft_decoding_stays_close_to_full_decoding(tmp_path):
    path = write_rgb_jpeg(tmp_path / "big.jpg", size=(320, 256))
    fast = build_eval_transform(PreprocessConfig(image_size=32))({"image": [str(path)]})["pixel_values"]
    full = build_eval_transform(PreprocessConfig(image_size=32, use_draft=False))({"image": [str(path)]})
    assert (fast - full["pixel_values"]).abs().mean() * 127.5 < 3  # < 3 grey levels on average


def test_with_detection_transform_on_dataset(images):
    dataset = Dataset.from_dict(
        {"image": [item["path"] for item in images], "label": [0, 1] * 3},
        features=Features({"image": ImageFeature(), "label": ClassLabel(names=["real", "fake"])}),
    )
    fast = with_detection_transform(dataset, build_eval_transform(PRE))
    assert fast.features["image"].decode is False
    assert torch.equal(
        fast[:6]["pixel_values"], dataset.with_transform(build_eval_transform(PRE))[:6]["pixel_values"]
    )
    assert fast[0]["pixel_values"].shape == (1, 3, SIZE, SIZE) or fast[0]["pixel_values"].shape == (
        3,
        SIZE,
        SIZE,
    )


def test_decode_failure_names_the_file(tmp_path):
    path = write_zero_byte(tmp_path / "broken.jpg")
    with pytest.raises(BadImageError, match=r"broken\.jpg"):
        build_eval_transform(PRE)({"image": [{"path": str(path), "bytes": None}]})


def test_dataloader_workers_differ_but_runs_repeat(tmp_path):
    path = write_rgb_jpeg(tmp_path / "x.jpg", size=48)
    dataset = Dataset.from_dict({"image": [str(path)] * 4, "label": [0] * 4}).cast_column(
        "image", ImageFeature()
    )
    train = with_detection_transform(dataset, build_train_transform(PRE, seed=0))

    def run() -> list[torch.Tensor]:
        torch.manual_seed(0)
        loader = torch.utils.data.DataLoader(train, batch_size=2, num_workers=2)
        return [batch["pixel_values"] for batch in loader]

    first, second = run(), run()
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert not torch.equal(first[0], first[1])  # batch 0 from worker 0, batch 1 from worker 1


def test_pickle_round_trip_resets_the_stream(images):
    transform = build_train_transform(PRE, seed=5)
    first = transform(_batch(images))["pixel_values"]
    clone = pickle.loads(pickle.dumps(transform))
    assert torch.equal(clone(_batch(images))["pixel_values"], first)


def test_from_image_processor():
    from transformers import CLIPImageProcessor, ConvNextImageProcessor, ViTImageProcessor

    vit = PreprocessConfig.from_image_processor(ViTImageProcessor(size={"height": 64, "width": 64}))
    assert (vit.image_size, vit.mean, vit.std, vit.resample) == (64, (0.5,) * 3, (0.5,) * 3, 2)
    assert PreprocessConfig.from_image_processor(ViTImageProcessor(), image_size=32).image_size == 32
    assert vit.eval_crop == "full"  # resizes to height x width: squashes, no center crop
    convnext = PreprocessConfig.from_image_processor(ConvNextImageProcessor(size={"shortest_edge": 224}))
    assert (convnext.image_size, convnext.crop_pct, convnext.resample) == (224, 0.875, 3)
    clip = PreprocessConfig.from_image_processor(CLIPImageProcessor())
    assert clip.image_size == 224 and clip.crop_pct == 1.0 and clip.mean[0] == pytest.approx(0.4815, abs=1e-3)


@pytest.mark.parametrize(
    "kwargs",
    [{"crop_scale": (0.0, 1.0)}, {"hflip_prob": 1.5}, {"jpeg_quality": (0, 90)}, {"blur_sigma": (2.0, 1.0)}],
)
def test_invalid_augment_config(kwargs):
    with pytest.raises(ConfigError):
        AugmentConfig(**kwargs)


def test_invalid_preprocess_config():
    with pytest.raises(ConfigError):
        PreprocessConfig(image_size=0)
    assert PreprocessConfig(resample="bicubic").resample == 3


def test_uint8_output_is_the_same_pixels_before_normalisation(images):
    from hf_aidetect.data.tensor_ops import normalize

    augment = AugmentConfig(blur_prob=0.5, jpeg_prob=0.5)
    floats = build_train_transform(PRE, augment, seed=3)(_batch(images))["pixel_values"]
    raw = build_train_transform(PRE, augment, seed=3, output="uint8")(_batch(images))["pixel_values"]
    assert raw.dtype == torch.uint8 and raw.shape == floats.shape
    assert raw.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(normalize(raw, PRE.mean, PRE.std), floats, atol=1e-6, rtol=0)
    with pytest.raises(ConfigError, match="output"):
        build_eval_transform(PRE, output="float16")
