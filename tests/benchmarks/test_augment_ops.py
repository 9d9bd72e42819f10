"""Batched torch augmentations of the fast path: crop sampling, per-image blur, device-side blur."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from hf_aidetect.data.tensor_ops import (
    _crop_boxes,
    blur_some,
    gaussian_blur,
    normalize,
    random_resized_crop_flip,
)
from hf_aidetect.data.transforms import AugmentConfig, PreprocessConfig, TrainTransform
from hf_aidetect.training.acceleration import DevicePreprocess

RATIO = (3 / 4, 4 / 3)


def _reference_blur(image: torch.Tensor, sigma: float, radius: int) -> torch.Tensor:
    """One image, its own kernel, a plain depthwise convolution (reflect padding)."""
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    img = F.pad(image[None], (radius,) * 4, mode="reflect")
    img = F.conv2d(img, kernel.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3)
    return F.conv2d(img, kernel.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3)[0]


def test_full_scale_crops_of_a_square_image_are_the_whole_image():
    # torchvision's rule: no draw fits, so the centre crop at the clamped ratio; never a stretched strip.
    boxes = _crop_boxes(64, 128, 128, (1.0, 1.0), RATIO, torch.Generator().manual_seed(0))
    assert boxes.tolist() == [[0, 0, 128, 128]] * 64


def test_full_scale_crops_of_a_wide_image_are_centred_at_the_widest_ratio():
    boxes = _crop_boxes(4, 100, 300, (1.0, 1.0), RATIO, torch.Generator().manual_seed(0))
    assert boxes.tolist() == [[0, 83, 100, 133]] * 4


def test_random_crops_fit_and_follow_the_on_the_fly_sampler():
    gen = torch.Generator().manual_seed(1)
    boxes = _crop_boxes(500, 96, 80, (0.3, 1.0), RATIO, gen)
    top, left, height, width = boxes.unbind(1)
    assert bool(((top >= 0) & (left >= 0) & (top + height <= 96) & (left + width <= 80)).all())
    area = (height * width).float() / (96 * 80)
    assert float(area.min()) >= 0.28 and float(area.max()) <= 1.0
    # Same draws as TrainTransform._crop_box (first fitting try): same crop size, to the pixel.
    draws = torch.rand(1, 10, 4, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    ours = _crop_boxes(1, 96, 80, (0.3, 1.0), RATIO, torch.Generator().manual_seed(7))[0]
    fly = TrainTransform(PreprocessConfig(image_size=32), AugmentConfig(crop_scale=(0.3, 1.0)))
    left_f, top_f, right_f, bottom_f = fly._crop_box((80, 96), draws[0].tolist())
    assert abs(int(ours[3]) - (right_f - left_f)) <= 1 and abs(int(ours[2]) - (bottom_f - top_f)) <= 1


def test_batched_blur_equals_a_per_image_convolution():
    images = torch.rand(5, 3, 20, 24) * 255
    sigmas = torch.tensor([0.3, 0.7, 1.0, 1.5, 2.0])
    radius = math.ceil(3 * 2.0)  # the batch shares the widest image's taps (zero-ish for the others)
    expected = torch.stack([_reference_blur(images[i], float(sigmas[i]), radius) for i in range(5)])
    torch.testing.assert_close(gaussian_blur(images, sigmas), expected, atol=2e-3, rtol=1e-4)


def test_blur_commutes_with_normalisation():
    pixels = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    sigmas = torch.tensor([0.5, 1.0, 1.5, 0.8])
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    before = normalize(gaussian_blur(pixels.float(), sigmas), mean, std)
    after = gaussian_blur(normalize(pixels, mean, std), sigmas)
    torch.testing.assert_close(before, after, atol=1e-4, rtol=1e-4)


def test_blur_some_changes_only_the_chosen_images():
    pixels = torch.rand(4, 3, 12, 12)
    out = blur_some(pixels.clone(), torch.tensor([True, False, True, False]), torch.rand(4), (0.5, 1.0))
    assert torch.equal(out[1], pixels[1]) and torch.equal(out[3], pixels[3])
    assert not torch.equal(out[0], pixels[0]) and not torch.equal(out[2], pixels[2])


@pytest.mark.parametrize("channels_last", [False, True])
def test_crop_is_layout_independent(channels_last):
    pixels = torch.randint(0, 256, (3, 3, 40, 40), dtype=torch.uint8)
    source = pixels.contiguous(memory_format=torch.channels_last) if channels_last else pixels
    out = random_resized_crop_flip(source, 24, generator=torch.Generator().manual_seed(3))
    expected = random_resized_crop_flip(pixels, 24, generator=torch.Generator().manual_seed(3))
    assert torch.equal(out, expected)


def test_device_preprocess_blurs_a_seeded_share_of_the_batch():
    preprocess = PreprocessConfig(image_size=16)
    pixels = torch.randint(0, 256, (64, 3, 16, 16), dtype=torch.uint8)
    sharp = AugmentConfig(crop_scale=(1.0, 1.0), hflip_prob=0.0)
    blurred = AugmentConfig(crop_scale=(1.0, 1.0), hflip_prob=0.0, blur_prob=0.5, blur_sigma=(1.0, 1.5))
    plain = DevicePreprocess(preprocess, sharp, seed=0)(pixels, train=True)
    first = DevicePreprocess(preprocess, blurred, seed=0)(pixels, train=True)
    again = DevicePreprocess(preprocess, blurred, seed=0)(pixels, train=True)
    assert torch.equal(first, again)
    changed = (first - plain).flatten(1).abs().amax(dim=1) > 1e-4
    assert 16 <= int(changed.sum()) <= 48  # about half, drawn per image
    assert float(first[changed].std()) < float(plain[changed].std())  # smoothed, not noise


def test_normalize_gives_the_same_values_for_either_layout():
    nchw = torch.randint(0, 256, (2, 3, 5, 7), dtype=torch.uint8)
    nhwc = nchw.contiguous(memory_format=torch.channels_last)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    a, b = normalize(nchw, mean, std), normalize(nhwc, mean, std)
    assert a.is_contiguous() and b.is_contiguous(memory_format=torch.channels_last)
    expected = (nchw.float() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(a, expected)
    torch.testing.assert_close(b, expected)
