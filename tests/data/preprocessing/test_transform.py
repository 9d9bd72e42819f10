"""The loader stage + batched stage: keyed draws, placements, switches, inputs, errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from datasets import Dataset
from datasets import Image as ImageFeature
from PIL import Image

from hf_aidetect.data.preprocessing import (
    AugmentConfig,
    BatchAugment,
    InputSpec,
    PreprocessConfig,
    create_transforms,
    normalize,
    with_transform,
)
from hf_aidetect.data.preprocessing.batch import _rotate
from hf_aidetect.data.preprocessing.draws import DRAW_COUNT, ROT90, sample_draws
from hf_aidetect.errors import BadImageError, ConfigError
from tests.data.preprocessing.conftest import SIZE, batch_of
from tests.utils import write_zero_byte

SPEC = InputSpec(size=SIZE)
KEYS = (np.zeros(6, dtype=np.int64), np.arange(6))


def _train(augment: AugmentConfig, **kwargs):
    return create_transforms(SPEC, augment=augment, seed=3, **kwargs).train


def test_shapes_dtypes_and_range(images):
    transforms = create_transforms(SPEC, augment=AugmentConfig(jpeg_prob=0.5, blur_prob=0.5), seed=0)
    for out in (transforms.train(batch_of(images), KEYS), transforms.evaluation(batch_of(images))):
        assert out["pixel_values"].shape == (6, 3, SIZE, SIZE) and out["pixel_values"].dtype == torch.float32
        assert out["pixel_values"].is_contiguous()
        assert out["labels"].tolist() == [0, 1, 0, 1, 0, 1]
        assert out["pixel_values"].min() >= -1.0 - 1e-5 and out["pixel_values"].max() <= 1.0 + 1e-5
    assert "labels" not in transforms.evaluation(batch_of(images, labels=False))


def test_normalisation_is_exact(tmp_path):
    path = tmp_path / "flat.png"
    Image.new("RGB", (30, 20), (255, 0, 51)).save(path)
    spec = InputSpec(size=8, mean=(0.5, 0.25, 0.2), std=(0.5, 0.25, 0.1))
    pixels = create_transforms(spec).evaluation({"image": [str(path)]})["pixel_values"][0]
    expected = torch.tensor([(1.0 - 0.5) / 0.5, (0.0 - 0.25) / 0.25, (0.2 - 0.2) / 0.1])
    assert torch.allclose(pixels.mean((1, 2)), expected, atol=1e-5)


def test_draws_are_a_function_of_the_key_only(images):
    train = _train(AugmentConfig(jpeg_prob=0.5, blur_prob=0.5))
    whole = train(batch_of(images), KEYS)["pixel_values"]
    again = _train(AugmentConfig(jpeg_prob=0.5, blur_prob=0.5))(batch_of(images), KEYS)["pixel_values"]
    assert torch.equal(whole, again)
    # The same sample in another batch, at another position, gets the same pixels.
    part = train(batch_of(images[3:5]), (np.zeros(2, dtype=np.int64), np.arange(3, 5)))["pixel_values"]
    assert torch.equal(part, whole[3:5])
    next_epoch = train(batch_of(images), (np.ones(6, dtype=np.int64), np.arange(6)))["pixel_values"]
    assert not torch.equal(next_epoch, whole)
    other_seed = create_transforms(SPEC, augment=AugmentConfig(), seed=4).train(batch_of(images), KEYS)
    assert not torch.equal(
        other_seed["pixel_values"], _train(AugmentConfig())(batch_of(images), KEYS)["pixel_values"]
    )


def test_sample_draws_layout():
    draws = sample_draws(0, np.array([0, 0, 1]), np.array([5, 6, 5]))
    assert draws.shape == (3, DRAW_COUNT) and draws.min() >= 0 and draws.max() < 1
    assert not np.array_equal(draws[0], draws[1]) and not np.array_equal(draws[0], draws[2])
    np.testing.assert_array_equal(sample_draws(0, np.array([0]), np.array([5]))[0], draws[0])


@pytest.mark.parametrize("switch", ["jpeg_prob", "blur_prob"])
def test_jpeg_and_blur_change_pixels_only_when_on_and_never_the_geometry(images, switch):
    base = _train(AugmentConfig(hflip_prob=0.5))(batch_of(images), KEYS)["pixel_values"]
    strong = {"blur_sigma": [1.0, 1.5]} if switch == "blur_prob" else {"jpeg_quality": [30, 60]}
    on = _train(AugmentConfig(hflip_prob=0.5, **{switch: 1.0}, **strong))(batch_of(images), KEYS)[
        "pixel_values"
    ]
    per_image = (on - base).abs().flatten(1).mean(1)
    assert (per_image > 1e-3).all()  # every image altered
    assert (per_image < 0.5).all()  # but the same window and flip: only small differences


def test_flip_probability(images):
    never = _train(AugmentConfig(hflip_prob=0.0))(batch_of(images), KEYS)["pixel_values"]
    always = _train(AugmentConfig(hflip_prob=1.0))(batch_of(images), KEYS)["pixel_values"]
    assert torch.equal(never.flip(-1), always)


def test_rotations_turn_the_grid_without_resampling_and_cover_the_three_turns(images):
    still = _train(AugmentConfig(hflip_prob=0.5))(batch_of(images), KEYS)["pixel_values"]
    turned = _train(AugmentConfig(hflip_prob=0.5, rot90_prob=1.0))(batch_of(images), KEYS)["pixel_values"]
    turns = []
    for before, after in zip(still, turned):
        matches = [k for k in (1, 2, 3) if torch.equal(torch.rot90(before, k, dims=(-2, -1)), after)]
        assert len(matches) == 1  # the same window and flip, turned: every pixel value kept
        turns.append(matches[0])
    draws = sample_draws(3, KEYS[0], KEYS[1])[:, ROT90]
    assert turns == [1 + int(d * 3) for d in draws]  # one keyed draw picks the turn
    many = BatchAugment(SPEC, AugmentConfig(hflip_prob=0.0, rot90_prob=0.75))
    pixels = torch.arange(4, dtype=torch.uint8).view(1, 1, 2, 2).expand(4000, 3, 2, 2).contiguous()
    out = many(pixels, torch.from_numpy(sample_draws(0, np.zeros(4000), np.arange(4000))))
    counts = torch.unique(out[:, 0].flatten(1), dim=0, return_counts=True)[1]
    assert len(counts) == 4 and counts.min() > 900  # the 4 turns (0 included) equally often
    draws = torch.from_numpy(sample_draws(1, np.zeros(64), np.arange(64)))[:, ROT90]
    batch = torch.randint(0, 255, (64, 5, 5, 3), dtype=torch.uint8).permute(0, 3, 1, 2)
    by_image, batched = batch.clone(), batch.clone()
    _rotate(by_image, draws, 0.75, per_image=True)
    _rotate(batched, draws, 0.75, per_image=False)
    assert torch.equal(by_image, batched)  # the CPU loop and the device's batched turns agree
    assert torch.equal(_train(AugmentConfig(rot90_prob=0.0))(batch_of(images), KEYS)["pixel_values"],
                       _train(AugmentConfig())(batch_of(images), KEYS)["pixel_values"])  # fmt: skip


def test_device_placement_gives_the_loader_placement_pixels(images):
    augment = AugmentConfig(jpeg_prob=0.5, blur_prob=0.5, hflip_prob=0.5, rot90_prob=0.75)
    loader = create_transforms(SPEC, augment=augment, seed=1)
    device = create_transforms(SPEC, augment=augment, seed=1, device_preprocessing=True)
    shipped = device.train(batch_of(images), KEYS)
    assert shipped["pixel_values"].dtype == torch.uint8
    assert shipped["pixel_values"].is_contiguous(memory_format=torch.channels_last)
    finished = device.device_stage(shipped["pixel_values"], shipped["augment_draws"])
    torch.testing.assert_close(finished, loader.train(batch_of(images), KEYS)["pixel_values"], atol=0, rtol=0)
    evaluation = device.evaluation(batch_of(images))
    assert "augment_draws" not in evaluation
    torch.testing.assert_close(
        device.device_stage(evaluation["pixel_values"]), loader.evaluation(batch_of(images))["pixel_values"]
    )


def test_channels_last_output(images):
    out = create_transforms(SPEC, channels_last=True).evaluation(batch_of(images))["pixel_values"]
    assert out.is_contiguous(memory_format=torch.channels_last) and not out.is_contiguous()
    raw = create_transforms(SPEC, device_preprocessing=True).evaluation(batch_of(images))["pixel_values"]
    torch.testing.assert_close(out, normalize(raw, SPEC.mean, SPEC.std))


def test_inputs_as_paths_bytes_and_decoded_images(images):
    transform = create_transforms(SPEC).evaluation
    reference = transform(batch_of(images))["pixel_values"]
    paths = [item["path"] for item in images]
    for variant in (paths, [open(p, "rb").read() for p in paths], [Image.open(p) for p in paths]):  # noqa: SIM115
        assert torch.equal(transform({"image": variant})["pixel_values"], reference)


def test_multi_crop_evaluation(images):
    transforms = create_transforms(SPEC, crops=4)
    out = transforms.evaluation(batch_of(images))["pixel_values"]
    assert out.shape == (6, 4, 3, SIZE, SIZE)
    centre = create_transforms(SPEC).evaluation(batch_of(images))["pixel_values"]
    torch.testing.assert_close(out[1, 0], centre[1])  # a 24 x 24 image: every window is the image
    stage = BatchAugment(SPEC)
    raw = create_transforms(SPEC, crops=4, device_preprocessing=True).evaluation(batch_of(images))[
        "pixel_values"
    ]
    torch.testing.assert_close(stage(raw), out)
    with pytest.raises(ConfigError, match="square number"):
        create_transforms(SPEC, crops=3)
    with pytest.raises(ConfigError, match="native-resolution"):
        create_transforms(
            InputSpec(size=SIZE, geometry="resize"), PreprocessConfig(geometry="resize"), crops=4
        )


def test_resize_geometry_trains_on_resampled_crops(images):
    spec = InputSpec(size=SIZE, geometry="resize")
    transforms = create_transforms(spec, PreprocessConfig(geometry="resize"), AugmentConfig(), seed=0)
    out = transforms.train(batch_of(images), KEYS)["pixel_values"]
    assert out.shape == (6, 3, SIZE, SIZE)
    with pytest.raises(ValueError, match="processor_for"):
        create_transforms(spec, PreprocessConfig(geometry="crop"))


def test_decode_failure_names_the_file(tmp_path):
    path = write_zero_byte(tmp_path / "broken.jpg")
    with pytest.raises(BadImageError, match=r"broken\.jpg"):
        create_transforms(SPEC).evaluation({"image": [{"path": str(path), "bytes": None}]})


def test_with_transform_streams_repeat_and_pickle(images):
    dataset = Dataset.from_dict({"image": [item["path"] for item in images], "label": [0, 1] * 3})
    dataset = dataset.cast_column("image", ImageFeature())
    train = create_transforms(SPEC, augment=AugmentConfig(), seed=5).train
    ready = with_transform(dataset, train)
    assert ready.features["image"].decode is False
    first, second = ready[:6]["pixel_values"], ready[:6]["pixel_values"]
    assert not torch.equal(first, second)  # without keys the stream advances between calls
    clone = pickle.loads(pickle.dumps(create_transforms(SPEC, augment=AugmentConfig(), seed=5).train))
    assert torch.equal(with_transform(dataset, clone)[:6]["pixel_values"], first)


def test_batched_stage_runs_on_one_cpu_thread_and_restores_the_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small memory-bound passes on one thread (no waits for busy cores); the same pixels; count restored."""
    augment = AugmentConfig(hflip_prob=0.5, blur_prob=0.5)
    pixels = torch.randint(0, 256, (4, 3, SIZE, SIZE), dtype=torch.uint8)
    draws = torch.from_numpy(sample_draws(3, np.zeros(4, dtype=np.int64), np.arange(4)))
    stage = BatchAugment(SPEC, augment)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen: list[int] = []
        real_normalize = normalize

        def spy(*args, **kwargs):
            seen.append(torch.get_num_threads())
            return real_normalize(*args, **kwargs)

        monkeypatch.setattr("hf_aidetect.data.preprocessing.batch.normalize", spy)
        out = stage(pixels, draws)
        assert seen == [1] and torch.get_num_threads() == 2
        monkeypatch.undo()
        torch.set_num_threads(1)
        torch.testing.assert_close(stage(pixels, draws), out, rtol=0, atol=1e-6)
    finally:
        torch.set_num_threads(previous)
