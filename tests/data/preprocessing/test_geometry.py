"""Geometry: native-resolution windows with zero padding, and the processors' resize geometry.

The evaluation transform must show the model exactly what ``pipeline("image-classification")`` does with
the saved processor, for images smaller than, equal to and larger than the input.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from hf_aidetect.data.preprocessing import AugmentConfig, InputSpec, create_transforms, crop_image_processor
from hf_aidetect.data.preprocessing import geometry as g
from hf_aidetect.data.preprocessing.draws import CROP_X, CROP_Y, DRAW_COUNT
from tests.utils import rgb_array

WIDE = Image.fromarray(rgb_array((80, 48), seed=7))  # non-square: squash and centre crop differ
TALL = Image.fromarray(rgb_array((41, 77), seed=8))


def test_centre_offset_follows_transformers_center_crop():
    from transformers.image_transforms import center_crop

    for height, width in [(10, 30), (23, 24), (24, 24), (25, 13), (40, 41), (41, 19)]:
        array = np.random.default_rng(height).random((height, width, 3)).astype(np.float32)
        expected = center_crop(array, (24, 24))
        window = g.cut_window(array, g.centre_offset(width, 24), g.centre_offset(height, 24), 24)
        np.testing.assert_array_equal(window, expected)


def test_padding_is_black_and_centred_at_evaluation():
    image = np.full((10, 30, 3), 200, dtype=np.uint8)  # 30 wide, 10 high, window 16
    left, top = g.centre_offset(30, 16), g.centre_offset(10, 16)
    assert (left, top) == (7, -3)  # crop 7 px off the left; 3 black rows above, 3 below
    window = g.cut_window(image, left, top, 16)
    assert (window[:3] == 0).all() and (window[13:] == 0).all() and (window[3:13] == 200).all()


def test_random_offsets_cover_every_position_and_placement():
    assert {g.random_offset(20, 16, u) for u in np.linspace(0, 0.999, 200)} == set(range(5))
    assert {g.random_offset(12, 16, u) for u in np.linspace(0, 0.999, 200)} == {0, -1, -2, -3, -4}
    assert g.random_offset(16, 16, 0.7) == 0


def test_training_windows_are_native_pixels_never_resampled():
    image = rgb_array((50, 37), seed=3)
    spec = InputSpec(size=24)
    transforms = create_transforms(spec, augment=AugmentConfig(), seed=0, device_preprocessing=True)
    out = transforms.train({"image": [Image.fromarray(image)] * 4}, (np.zeros(4, int), np.arange(4)))
    draws = out["augment_draws"].numpy()
    for i in range(4):
        left = g.random_offset(50, 24, draws[i, CROP_X])
        top = g.random_offset(37, 24, draws[i, CROP_Y])
        window = out["pixel_values"][i].permute(1, 2, 0).numpy()
        np.testing.assert_array_equal(window, image[top : top + 24, left : left + 24])
    assert draws.shape == (4, DRAW_COUNT)


def test_small_training_images_are_placed_at_random_on_black():
    image = np.full((10, 12, 3), 255, dtype=np.uint8)
    transforms = create_transforms(
        InputSpec(size=16), augment=AugmentConfig(), seed=0, device_preprocessing=True
    )
    out = transforms.train({"image": [Image.fromarray(image)] * 32}, (np.zeros(32, int), np.arange(32)))
    pixels = out["pixel_values"].numpy()
    assert ((pixels == 255).sum(axis=(1, 2, 3)) == 10 * 12 * 3).all()  # the whole image, unscaled
    tops = {int(np.argmax(p[0].any(axis=1))) for p in pixels}
    assert len(tops) > 1  # not always the same placement


@pytest.mark.parametrize("shape", [(16, 16), (9, 13), (30, 30), (40, 17), (31, 20), (15, 33)])
def test_evaluation_equals_the_saved_processor(shape):
    spec = InputSpec(size=16, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    image = Image.fromarray(rgb_array(shape, seed=sum(shape)))
    ours = create_transforms(spec).evaluation({"image": [image]})["pixel_values"]
    theirs = crop_image_processor(spec)(images=image, return_tensors="pt")["pixel_values"]
    torch.testing.assert_close(ours, theirs.float(), atol=1e-5, rtol=0)


def test_multi_crop_windows_form_a_grid():
    assert g.multi_crop_windows((40, 40), 16, 1) == [(12, 12)]
    windows = g.multi_crop_windows((40, 30), 16, 4)
    assert windows == [(0, 0), (24, 0), (0, 14), (24, 14)]  # corners: the grid spans the image
    assert g.multi_crop_windows((10, 40), 16, 4) == [(-3, 0), (-3, 0), (-3, 24), (-3, 24)]


def _processors() -> dict[str, object]:
    from transformers import BitImageProcessor, ConvNextImageProcessor, DeiTImageProcessor, ViTImageProcessor

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
def test_resize_geometry_equals_the_image_processor(name, image):
    processor = _processors()[name]
    ours = create_transforms(InputSpec.from_image_processor(processor)).evaluation({"image": [image]})
    theirs = processor(images=image, return_tensors="pt")["pixel_values"]
    torch.testing.assert_close(ours["pixel_values"], theirs.float(), atol=1e-5, rtol=0)


def test_evaluation_region():
    assert g.evaluation_region((80, 48), 32, "resize", 1.0, "full") == (0.0, 0.0, 80.0, 48.0)
    left, top, right, bottom = g.evaluation_region((80, 48), 32, "resize", 1.0, "center")
    assert top == 0.0 and bottom == 48.0 and right - left == pytest.approx(48, abs=2)
    assert g.evaluation_region((80, 20), 32, "crop") == (24.0, -6.0, 56.0, 26.0)


def test_resized_crop_box_is_torchvision_sampling():
    draws = np.zeros(DRAW_COUNT)
    draws[8:12] = [1.0, 0.5, 0.0, 0.0]  # area = whole image, aspect 1: the full square
    assert g.resized_crop_box((40, 40), draws, (1.0, 1.0), (1.0, 1.0)) == (0.0, 0.0, 40.0, 40.0)
    box = g.resized_crop_box((64, 16), np.full(DRAW_COUNT, 0.999), (0.9, 1.0), (1.0, 1.0))
    assert box == pytest.approx((24.0, 0.0, 40.0, 16.0))  # nothing fits 10 times: centre crop at ratio 1
