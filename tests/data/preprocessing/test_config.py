"""Each preprocessing setting is validated once, in its config; InputSpec reads any image processor."""

from __future__ import annotations

import pytest

from hf_aidetect.data.preprocessing import AugmentConfig, InputSpec, PipelineConfig, PreprocessConfig
from hf_aidetect.errors import ConfigError


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hflip_prob": 1.5},
        {"rot90_prob": -0.5},
        {"jpeg_prob": -0.1},
        {"jpeg_quality": [0, 90]},
        {"jpeg_quality": [90, 60]},
        {"blur_sigma": [2.0, 1.0]},
        {"blur_prob": 2},
    ],
)
def test_invalid_augment_config(kwargs):
    with pytest.raises(ConfigError):
        AugmentConfig(**kwargs)


def test_augment_defaults_and_types():
    augment = AugmentConfig(jpeg_quality=[70.0, 95.0])
    assert augment.enabled and augment.jpeg_quality == [70, 95] and augment.blur_sigma == [0.1, 1.5]
    assert not AugmentConfig(augment=False).enabled


def test_crop_geometry_refuses_resampling_settings():
    assert PreprocessConfig().geometry == "crop" and not PreprocessConfig().resamples
    with pytest.raises(ConfigError, match=r"crop_scale.*geometry resize"):
        PreprocessConfig(crop_scale=[0.7, 1.0])
    with pytest.raises(ConfigError, match="crop_ratio"):
        PreprocessConfig(crop_ratio=[0.5, 2.0])
    with pytest.raises(ConfigError, match="--geometry 'warp'"):
        PreprocessConfig(geometry="warp")


def test_resize_geometry_validates_its_crop_range_once():
    resize = PreprocessConfig(geometry="resize")
    assert resize.crop_scale == [0.6, 1.0] and resize.crop_ratio == pytest.approx([0.75, 4 / 3])
    with pytest.raises(ConfigError, match="lower bound above 0"):  # a zero-area crop is not a crop
        PreprocessConfig(geometry="resize", crop_scale=[0.0, 1.0])
    with pytest.raises(ConfigError, match="two increasing numbers"):
        PreprocessConfig(geometry="resize", crop_scale=[0.9, 0.5])


def test_pipeline_defaults():
    pipeline = PipelineConfig()
    assert pipeline.device_preprocessing is None and pipeline.decode_cache is False


def test_input_spec_from_processors():
    from transformers import BitImageProcessor, CLIPImageProcessor, ConvNextImageProcessor, ViTImageProcessor

    from hf_aidetect.data.preprocessing import crop_image_processor

    vit = InputSpec.from_image_processor(ViTImageProcessor(size={"height": 64, "width": 64}))
    assert (vit.size, vit.mean, vit.geometry, vit.resize_mode, vit.resample) == (
        64,
        (0.5,) * 3,
        "resize",
        "full",
        2,
    )
    convnext = InputSpec.from_image_processor(ConvNextImageProcessor(size={"shortest_edge": 224}))
    assert (convnext.size, convnext.crop_pct, convnext.resize_mode) == (224, 0.875, "center")
    convnext_384 = InputSpec.from_image_processor(ConvNextImageProcessor())  # warps, no crop_pct
    assert (convnext_384.resize_mode, convnext_384.crop_pct) == ("full", 1.0)
    clip = InputSpec.from_image_processor(CLIPImageProcessor())
    assert (
        clip.size == 224 and clip.resize_mode == "center" and clip.mean[0] == pytest.approx(0.4815, abs=1e-3)
    )
    crop = InputSpec.from_image_processor(crop_image_processor(InputSpec(size=40, mean=(0.1, 0.2, 0.3))))
    assert (crop.geometry, crop.size, crop.mean) == ("crop", 40, pytest.approx((0.1, 0.2, 0.3)))
    with pytest.raises(ConfigError, match="neither resizes nor centre-crops"):
        InputSpec.from_image_processor(BitImageProcessor(do_resize=False, do_center_crop=False))


def test_invalid_input_spec():
    with pytest.raises(ConfigError):
        InputSpec(size=0)
    with pytest.raises(ConfigError):
        InputSpec(crop_pct=0.0)
    assert InputSpec(resample="bicubic").resample == 3
    assert InputSpec(size=32).at(64).size == 64
