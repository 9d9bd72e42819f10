"""build_model / ModelArguments: ViT-B/16 size, tiny ViT from config, checkpoints, freezing, pipelines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import HfArgumentParser, PreTrainedModel, ViTConfig, ViTForImageClassification, pipeline

from hf_aidetect.errors import ConfigError
from hf_aidetect.models import (
    ModelArguments,
    SeedCNNForImageClassification,
    build_model,
    count_parameters,
    freeze_backbone,
)
from hf_aidetect.models.arguments import parse_overrides
from tests.models.conftest import TINY_VIT_OVERRIDES, random_images


def test_vit_base_patch16_with_two_labels_has_the_reports_parameter_count() -> None:
    with torch.device("meta"):
        model = ViTForImageClassification(ViTConfig(num_labels=2))
    assert count_parameters(model) == 85_800_194


def test_tiny_vit_from_config_has_two_labels_and_matching_processor() -> None:
    model, processor = build_model(
        ModelArguments(model_type="vit", config_overrides=dict(TINY_VIT_OVERRIDES), image_size=32)
    )
    assert isinstance(model, ViTForImageClassification)
    assert model.config.id2label == {0: "real", 1: "fake"} and model.config.label2id == {"real": 0, "fake": 1}
    assert model.config.hidden_size == 32 and model.config.image_size == 32
    assert (processor.crop_size.height, processor.crop_size.width) == (32, 32)
    assert list(processor.image_mean) == [0.5, 0.5, 0.5]
    pixels = processor(random_images(2), return_tensors="pt")["pixel_values"]
    assert model(pixel_values=pixels).logits.shape == (2, 2)


def test_seed_cnn_from_model_type_uses_image_size() -> None:
    model, processor = build_model(ModelArguments(model_type="seed_cnn", image_size=128))
    assert isinstance(model, SeedCNNForImageClassification)
    assert model.config.image_size == 128 and processor.crop_size.height == 128


def test_processor_matches_the_training_eval_transform_on_non_square_images() -> None:
    from PIL import Image

    from hf_aidetect.data.preprocessing import PreprocessConfig, eval_transform, processor_for

    _, processor = build_model(ModelArguments(model_type="seed_cnn", image_size=96))
    image = random_images(1, size=(25, 15))[0].resize((250, 150), Image.Resampling.BICUBIC)
    for geometry in ("resize", "crop"):
        saved = processor_for(processor, PreprocessConfig(geometry=geometry))
        pipeline_pixels = saved(image, return_tensors="pt")["pixel_values"][0]
        training_pixels = eval_transform(saved)({"image": [image], "label": [0]})["pixel_values"][0]
        assert torch.allclose(pipeline_pixels, training_pixels, atol=1e-4)


def test_checkpoint_gets_a_fresh_two_label_head(saved_vit_dir: Path, tmp_path: Path) -> None:
    # A 3-class checkpoint: the head must be replaced (ignore_mismatched_sizes), the backbone kept.
    source, _ = build_model(ModelArguments(model_name_or_path=str(saved_vit_dir)))
    three = ViTForImageClassification(
        ViTConfig(**{**source.config.to_dict(), "num_labels": 3, "id2label": None})
    )
    three.vit.load_state_dict(source.vit.state_dict())
    three.save_pretrained(tmp_path)
    model, processor = build_model(ModelArguments(model_name_or_path=str(tmp_path)))
    assert model.classifier.out_features == 2 and model.config.id2label == {0: "real", 1: "fake"}
    for key, tensor in three.vit.state_dict().items():
        assert torch.equal(tensor, model.vit.state_dict()[key])
    assert processor.crop_size.height == 32  # no preprocessor_config.json there: built from the config


def test_checkpoint_keeps_its_processor(saved_vit_dir: Path) -> None:
    _, processor = build_model(ModelArguments(model_name_or_path=str(saved_vit_dir)))
    saved = json.loads((saved_vit_dir / "preprocessor_config.json").read_text())
    assert processor.crop_size.height == saved["crop_size"]["height"] == 32


def test_checkpoint_at_another_size_interpolates_its_position_embeddings(saved_vit_dir: Path) -> None:
    original, _ = build_model(ModelArguments(model_name_or_path=str(saved_vit_dir)))
    resized, processor = build_model(ModelArguments(model_name_or_path=str(saved_vit_dir), image_size=64))
    assert resized.config.image_size == 64 and processor.crop_size.height == 64
    assert resized.vit.embeddings.position_embeddings.shape[1] == (64 // 8) ** 2 + 1
    pixels = torch.randn(2, 3, 64, 64)
    original.eval(), resized.eval()
    with torch.no_grad():  # transformers' own interpolate_pos_encoding=True at every forward
        expected = original(pixel_values=pixels, interpolate_pos_encoding=True).logits
        torch.testing.assert_close(resized(pixel_values=pixels).logits, expected, atol=1e-5, rtol=0)
    same = {k for k, v in original.state_dict().items() if torch.equal(v, resized.state_dict()[k])}
    assert same == set(original.state_dict()) - {"vit.embeddings.position_embeddings"}


def test_size_dependent_weights_without_interpolation_are_refused(saved_cnn_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"--image_size 224.*depends on the input side"):
        build_model(ModelArguments(model_name_or_path=str(saved_cnn_dir), image_size=224))


def test_missing_checkpoint_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--model_type"):
        build_model(ModelArguments(model_name_or_path=str(tmp_path / "nowhere")))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model_type": "vit", "config_overrides": "hiden_size=3"}, "hiden_size"),
        ({"model_type": "not_a_model"}, "not_a_model"),
        ({"model_type": "vit", "config_overrides": "hidden_size"}, "key=value"),
    ],
)
def test_bad_model_arguments_are_config_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_model(ModelArguments(**kwargs))


def test_no_model_given_is_the_readmes_default_vit() -> None:
    from hf_aidetect.models.arguments import DEFAULT_CHECKPOINT

    assert ModelArguments().model_name_or_path == DEFAULT_CHECKPOINT == "google/vit-base-patch16-224-in21k"
    assert ModelArguments(model_type="seed_cnn").model_name_or_path is None


def test_overrides_parse_from_json_and_key_value() -> None:
    assert parse_overrides('{"hidden_size": 64}') == {"hidden_size": 64}
    assert parse_overrides("hidden_size=64, hidden_act=gelu,qkv_bias=false") == {
        "hidden_size": 64,
        "hidden_act": "gelu",
        "qkv_bias": False,
    }


def test_model_arguments_parse_from_cli_flags() -> None:
    (args,) = HfArgumentParser(ModelArguments).parse_args_into_dataclasses(
        [
            "--model_type",
            "vit",
            "--config_overrides",
            "hidden_size=64",
            "--image_size",
            "64",
            "--freeze_backbone",
        ]
    )
    assert args.config_overrides == {"hidden_size": 64} and args.image_size == 64 and args.freeze_backbone


def _trainable_names(model: PreTrainedModel) -> set[str]:
    return {name.split(".")[0] for name, p in model.named_parameters() if p.requires_grad}


def test_freeze_backbone_leaves_only_the_head_trainable() -> None:
    vit, _ = build_model(
        ModelArguments(model_type="vit", config_overrides=dict(TINY_VIT_OVERRIDES), freeze_backbone=True)
    )
    assert _trainable_names(vit) == {"classifier"}
    assert count_parameters(vit, trainable_only=True) == 32 * 2 + 2
    cnn, _ = build_model(ModelArguments(model_type="seed_cnn"))
    assert freeze_backbone(cnn) == 948_301 - sum(
        b.conv.weight.numel() + b.conv.bias.numel() for b in cnn.blocks
    )
    assert _trainable_names(cnn) == {"classifier"}


def test_pipeline_on_saved_tiny_vit(saved_vit_dir: Path) -> None:
    classifier = pipeline("image-classification", model=str(saved_vit_dir))
    results = classifier(random_images(3))
    assert len(results) == 3 and {item["label"] for item in results[0]} == {"real", "fake"}


def test_overrides_apply_to_checkpoints_and_typos_are_caught(saved_vit_dir: Path) -> None:
    model, _ = build_model(
        ModelArguments(model_name_or_path=str(saved_vit_dir), config_overrides="hidden_dropout_prob=0.1")
    )
    assert model.config.hidden_dropout_prob == 0.1
    with pytest.raises(ConfigError, match="hiden_dropout_prob"):
        typo = ModelArguments(model_name_or_path=str(saved_vit_dir), config_overrides="hiden_dropout_prob=0")
        build_model(typo)
