"""--stem_init highpass: which layer it touches, what the filters look like, when it is refused."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from transformers import ViTForImageClassification

from hf_aidetect.errors import ConfigError
from hf_aidetect.models import ModelArguments, build_model
from hf_aidetect.models.stem_init import STEM_GAIN, find_stem, highpass_filters
from tests.models.conftest import TINY_VIT_OVERRIDES


def _tiny_vit(stem_init: str) -> ViTForImageClassification:
    torch.manual_seed(0)
    args = ModelArguments(
        model_type="vit", config_overrides=dict(TINY_VIT_OVERRIDES), image_size=32, stem_init=stem_init
    )
    return build_model(args)[0]


def test_highpass_replaces_only_the_vit_patch_projection() -> None:
    default, highpass = _tiny_vit("default"), _tiny_vit("highpass")
    stem = highpass.vit.embeddings.patch_embeddings.projection
    assert find_stem(highpass) is stem
    changed = {
        name
        for (name, before), (_, after) in zip(
            default.state_dict().items(), highpass.state_dict().items(), strict=True
        )
        if not torch.equal(before, after)
    }
    # Same seed: every other tensor is the model's own init, bit for bit.
    assert changed == {"vit.embeddings.patch_embeddings.projection.weight"}
    fan_in = math.prod(stem.weight.shape[1:])
    assert stem.weight.std().item() == pytest.approx(STEM_GAIN / math.sqrt(fan_in), rel=1e-4)
    assert not torch.any(stem.bias)


def test_highpass_filters_ignore_flat_colour_and_keep_pixel_level_detail() -> None:
    torch.manual_seed(0)
    filters = highpass_filters(torch.randn(64, 3, 8, 8) * 0.02)
    flat = torch.ones(1, 3, 8, 8) * torch.tensor([0.2, -0.7, 0.9]).view(1, 3, 1, 1)
    assert F.conv2d(flat, filters).abs().max().item() < 1e-5
    # A smooth ramp (content) excites them far less than a one-pixel checkerboard (a generator trace) of the
    # same amplitude; random filters respond to both alike.
    ramp = torch.linspace(-1, 1, 8).view(1, 1, 1, 8).expand(1, 3, 8, 8)
    checker = (torch.arange(8).view(8, 1) + torch.arange(8).view(1, 8)) % 2 * 2.0 - 1.0
    checker = checker.view(1, 1, 8, 8).expand(1, 3, 8, 8)
    response = [F.conv2d(x, filters).pow(2).mean().item() for x in (ramp, checker)]
    assert response[1] > 5 * response[0]


def test_highpass_finds_the_first_convolution_of_the_seed_cnn() -> None:
    model, _ = build_model(ModelArguments(model_type="seed_cnn", image_size=96, stem_init="highpass"))
    stem = find_stem(model)
    assert stem is next(module for module in model.modules() if isinstance(module, nn.Conv2d))
    assert stem.weight.sum(dim=(-2, -1)).abs().max().item() < 1e-5


def test_highpass_model_saves_and_reloads_as_a_stock_vit(tmp_path: Path) -> None:
    model = _tiny_vit("highpass")
    model.save_pretrained(tmp_path)
    reloaded = ViTForImageClassification.from_pretrained(tmp_path)
    pixels = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.eval()(pixels).logits, reloaded.eval()(pixels).logits)


def test_stem_init_is_refused_for_checkpoints_and_unknown_names() -> None:
    with pytest.raises(
        ConfigError, match=r"--stem_init highpass re-initialises .*some/checkpoint.*drop --stem_init"
    ):
        ModelArguments(model_name_or_path="some/checkpoint", stem_init="highpass")
    with pytest.raises(ConfigError, match=r"the default without --model_type"):
        ModelArguments(stem_init="highpass")
    with pytest.raises(ConfigError, match=r"--stem_init must be one of default, highpass, got 'srm'"):
        ModelArguments(model_type="vit", stem_init="srm")


def test_a_model_without_a_convolution_stem_gets_a_one_line_error() -> None:
    with pytest.raises(ConfigError, match="needs a model whose first layer is a convolution"):
        find_stem(nn.Sequential(nn.Linear(3, 2)))
    with pytest.raises(ConfigError, match="kernel of at least 2x2"):
        highpass_filters(torch.randn(4, 3, 1, 1))


def test_the_demo_vit_recipe_starts_from_a_highpass_stem_in_fp32(tmp_path: Path) -> None:
    from hf_aidetect.training.config import parse_recipe_args

    _, training, model = parse_recipe_args(
        ["--config", "demo_vit", "--dataset", "d", "--output_dir", str(tmp_path)]
    )
    assert model.stem_init == "highpass" and model.model_type == "vit"
    assert not training.bf16_candidate()


def test_the_demo_cnn_recipe_builds_the_report_cnn_with_a_highpass_stem_and_dropout(tmp_path: Path) -> None:
    from hf_aidetect.training.config import parse_recipe_args

    _, _, args = parse_recipe_args(["--config", "demo_cnn", "--dataset", "d", "--output_dir", str(tmp_path)])
    assert args.stem_init == "highpass" and args.model_type == "seed_cnn"
    model, _ = build_model(args)
    assert model.config.dropout == 0.25  # the config's default: the recipe no longer turns it off
    stem = find_stem(model)
    assert (stem.out_channels, stem.kernel_size, stem.stride, stem.padding) == (32, (5, 5), (2, 2), (1, 1))
    assert stem.weight.sum(dim=(-2, -1)).abs().max().item() < 1e-5  # high-pass: a flat colour gives 0
