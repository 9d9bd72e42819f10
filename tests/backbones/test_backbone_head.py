"""The backbone head: pre-trained weights kept exactly, pooling choices, input sides, save / load / pipeline.

Every family's twin is loaded the way its Hub checkpoint would be (a full CLIP / SigLIP model gives its
vision tower), the detector must hold the twin's backbone weights bit for bit, and a saved detector must
give ``predict``'s P(fake) through ``pipeline("image-classification")``, also where hf_aidetect is not
installed (remote code).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoConfig, AutoModel, AutoModelForImageClassification, pipeline

from hf_aidetect.cli import main
from hf_aidetect.data.preprocessing import PreprocessConfig, processor_for
from hf_aidetect.errors import ConfigError
from hf_aidetect.models import ModelArguments, build_model
from hf_aidetect.models.backbones import BackboneDetectorForImageClassification
from hf_aidetect.models.backbones.modeling_backbone_detector import backbone_config_of, patch_sequence
from hf_aidetect.models.backbones.twins import FAMILIES
from tests.publishing.conftest import run_python

POOLINGS = {"cls", "mean", "attention", "map"}
VALID = {
    "clip": {"cls", "mean", "attention"},
    "siglip": {"mean", "attention", "map"},
    "siglip2": {"mean", "attention", "map"},
    "dinov2": {"cls", "mean", "attention"},
    "dinov2_with_registers": {"cls", "mean", "attention"},
    "dinov3_vit": {"cls", "mean", "attention"},
    "convnextv2": {"mean", "attention"},
}
SHAPES = [(20, 24), (32, 32), (48, 40), (70, 33)]


def _detector(twin: Path, **kwargs) -> BackboneDetectorForImageClassification:
    model, _ = build_model(ModelArguments(model_name_or_path=str(twin), **kwargs))
    return model.eval()


@pytest.mark.parametrize("family", FAMILIES)
def test_backbone_weights_are_the_checkpoints_and_every_pooling_runs(family: str, twins: dict) -> None:
    source = backbone_config_of(AutoConfig.from_pretrained(twins[family]))
    reference = AutoModel.from_pretrained(twins[family], config=source).state_dict()
    pixels = torch.randn(2, 3, 32, 32)
    for pooling in sorted(POOLINGS):
        if pooling not in VALID[family]:
            with pytest.raises(ConfigError, match="--pooling"):
                _detector(twins[family], pooling=pooling)
            continue
        model = _detector(twins[family], pooling=pooling)
        backbone = model.backbone.state_dict()
        assert backbone and all(torch.equal(backbone[k], reference[k]) for k in backbone)
        assert model(pixel_values=pixels).logits.shape == (2, 2)
        assert model.classifier.bias is not None  # the operating point folds into it


@pytest.mark.parametrize("family", ["clip", "siglip", "dinov2_with_registers"])
def test_another_side_interpolates_the_position_table_once(family: str, twins: dict) -> None:
    """At 48 px the rebuilt backbone computes what the 32 px one computes with interpolation at every step."""
    model = _detector(twins[family], image_size=48, pooling="mean")
    assert model.config.image_size == 48 == model.config.backbone_config.image_size
    source = backbone_config_of(AutoConfig.from_pretrained(twins[family]))
    original = AutoModel.from_pretrained(twins[family], config=source).eval()
    pixels = torch.randn(2, 3, 48, 48)
    flag = {"interpolate_pos_encoding": True} if family != "dinov2_with_registers" else {}
    with torch.no_grad():
        ours = model.backbone(pixel_values=pixels).last_hidden_state
        theirs = original(pixel_values=pixels, **flag).last_hidden_state
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)
    with pytest.raises(ConfigError, match="--image_size"):
        _detector(twins[family], image_size=44)  # not a multiple of the patch size


def test_siglip2_patches_are_cut_like_its_processor() -> None:
    from transformers.models.siglip2.image_processing_pil_siglip2 import convert_image_to_patches

    pixels = torch.randn(2, 3, 32, 48)
    patches, shapes = patch_sequence(pixels, 8)
    for index in range(2):
        expected = convert_image_to_patches(pixels[index].numpy(), 8)
        np.testing.assert_array_equal(patches[index].numpy(), expected)
    assert shapes.tolist() == [[4, 6], [4, 6]]


def test_processor_takes_the_checkpoints_normalisation_at_native_resolution(twins: dict) -> None:
    _, processor = build_model(ModelArguments(model_name_or_path=str(twins["clip"])))
    assert processor.image_mean == pytest.approx([0.48145466, 0.4578275, 0.40821073])
    crop = processor_for(processor, PreprocessConfig())
    assert crop.do_resize is False and crop.crop_size["height"] == 32
    assert crop.image_mean == processor.image_mean


def _images(folder: Path) -> list[str]:
    rng = np.random.default_rng(1)
    paths = []
    for index, (width, height) in enumerate(SHAPES):
        path = folder / f"{index}.png"
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


def _save(model: torch.nn.Module, processor, folder: Path) -> Path:
    model.save_pretrained(folder)
    processor_for(processor, PreprocessConfig()).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("family", FAMILIES)
def test_saved_detector_reloads_exactly(family: str, twins: dict, tmp_path: Path) -> None:
    model, processor = build_model(ModelArguments(model_name_or_path=str(twins[family]), pooling="attention"))
    folder = _save(model.eval(), processor, tmp_path / family)
    assert {"configuration_backbone_detector.py", "modeling_backbone_detector.py"} <= {
        p.name for p in folder.iterdir()
    }
    reloaded = AutoModelForImageClassification.from_pretrained(folder).eval()
    pixels = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(pixel_values=pixels).logits, reloaded(pixel_values=pixels).logits)


def _predict(folder: Path, images: list[str], tmp_path: Path) -> np.ndarray:
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(folder), *images, "--output", str(out), "--no-progress"]) == 0
    with out.open(newline="") as handle:
        return np.array([float(row["fake_score"]) for row in csv.DictReader(handle)])


REMOTE = """
import json, sys
sys.modules["hf_aidetect"] = None  # a machine without hf_aidetect: the shipped code must do everything
from transformers import pipeline
detector = pipeline("image-classification", model={folder!r}, trust_remote_code=True)
scores = [{{p["label"]: p["score"] for p in detector(x, top_k=2)}}["fake"] for x in {images!r}]
print("RESULT" + json.dumps(scores))
"""


@pytest.mark.parametrize("family", ["siglip2"])  # its patch sequence is cut by our code: the hardest case
def test_pipeline_equals_predict_with_and_without_hf_aidetect(
    family: str, twins: dict, tmp_path: Path
) -> None:
    model, processor = build_model(ModelArguments(model_name_or_path=str(twins[family])))
    folder = _save(model.eval(), processor, tmp_path / "model")
    images = _images(tmp_path)
    ours = _predict(folder, images, tmp_path)
    detector = pipeline("image-classification", model=str(folder), device="cpu")
    here = np.array([{p["label"]: p["score"] for p in detector(x, top_k=2)}["fake"] for x in images])
    np.testing.assert_allclose(here, ours, atol=1e-5)
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf_home")}
    done = run_python(REMOTE.format(folder=str(folder), images=images), env)
    assert done.returncode == 0, done.stderr[-3000:]
    remote = np.array(json.loads(done.stdout.split("RESULT", 1)[1]))
    np.testing.assert_allclose(remote, ours, atol=1e-5)


@pytest.mark.parametrize(("family", "method"), [("clip", "attention"), ("convnextv2", "gradcam")])
def test_explain_picks_a_method_that_fits_the_backbone(
    family: str, method: str, twins: dict, tmp_path
) -> None:
    from hf_aidetect.inference.explain import default_method

    model, processor = build_model(ModelArguments(model_name_or_path=str(twins[family])))
    folder = _save(model.eval(), processor, tmp_path / "model")
    assert default_method(model) == method
    image = _images(tmp_path)[2]
    assert main(["explain", str(folder), image, "--out", str(tmp_path / "maps")]) == 0
    assert len(list((tmp_path / "maps").glob("*.png"))) == 1


def test_a_saved_detector_trains_on_at_another_side(twins: dict, tmp_path: Path) -> None:
    model, processor = build_model(ModelArguments(model_name_or_path=str(twins["clip"]), pooling="mean"))
    folder = _save(model.eval(), processor, tmp_path / "detector")
    resized, resized_processor = build_model(ModelArguments(model_name_or_path=str(folder), image_size=48))
    assert resized.config.backbone_config.image_size == 48 and resized_processor.crop_size["height"] == 48
    pixels = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        expected = model.backbone(pixel_values=pixels, interpolate_pos_encoding=True).last_hidden_state
        actual = resized.eval().backbone(pixel_values=pixels).last_hidden_state
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-6)


def test_attention_switch_reaches_the_backbone_quietly(twins: dict, caplog) -> None:
    """Attention rollout asks for eager attention: head and backbone switch, and no warning is logged."""
    model, _ = build_model(ModelArguments(model_name_or_path=str(twins["dinov2"]), pooling="attention"))
    model.set_attn_implementation("sdpa")
    with caplog.at_level("WARNING"):
        model.set_attn_implementation("eager")
    assert model.config._attn_implementation == "eager" == model.backbone.config._attn_implementation
    assert not [r for r in caplog.records if "attention implementation" in r.getMessage()]
    pixels = torch.randn(1, 3, 32, 32)
    attentions = model(pixel_values=pixels, output_attentions=True).attentions
    assert len(attentions) == 2 and attentions[0].shape[-1] == 1 + 16  # class token + 4 x 4 patches
