"""The report's seed CNN: exact architecture, init, loss, Auto registration, save / load, remote code."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn
from transformers import AutoConfig, AutoModelForImageClassification, pipeline

from hf_aidetect.models import SeedCNNConfig, SeedCNNForImageClassification, count_parameters
from tests.models.conftest import random_images


def test_parameter_count_and_flatten_at_224() -> None:
    config = SeedCNNConfig()
    model = SeedCNNForImageClassification(config)
    assert config.flatten_size == 128 * 3 * 3 == 1152
    assert count_parameters(model) == 948_301
    assert model.classifier[0].in_features == 1152
    assert config.id2label == {0: "real", 1: "fake"} and config.label2id == {"real": 0, "fake": 1}


def test_layer_order_is_conv_relu_pool_dropout() -> None:
    model = SeedCNNForImageClassification(SeedCNNConfig())
    assert [c.out_channels for c in (b.conv for b in model.blocks)] == [32, 64, 128]
    for block in model.blocks:
        assert [type(m) for m in block.children()] == [nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Dropout]
        assert (
            block.conv.kernel_size == (5, 5) and block.conv.stride == (2, 2) and block.conv.padding == (1, 1)
        )
    linears = [m for m in model.classifier if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(1152, 500), (500, 225), (225, 2)]


@pytest.mark.parametrize(("size", "side"), [(224, 3), (128, 1), (96, 1), (160, 2)])
def test_forward_shapes_and_derived_flatten(size: int, side: int) -> None:
    model = SeedCNNForImageClassification(SeedCNNConfig(image_size=size)).eval()
    assert model.config.feature_size == side
    out = model(torch.randn(2, 3, size, size), output_hidden_states=True)
    assert out.logits.shape == (2, 2)
    assert out.hidden_states[-1].shape == (2, 128, side, side)
    assert len(out.hidden_states) == 3


def test_too_small_image_size_is_an_actionable_error() -> None:
    with pytest.raises(ValueError, match="image_size >= 85"):
        SeedCNNForImageClassification(SeedCNNConfig(image_size=64))


def test_kaiming_init_statistics() -> None:
    torch.manual_seed(0)
    model = SeedCNNForImageClassification(SeedCNNConfig())
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            fan_in = module.weight[0].numel()
            expected = (2.0 / fan_in) ** 0.5  # He normal, fan_in, ReLU gain
            assert module.weight.std().item() == pytest.approx(expected, rel=0.15)
            assert abs(module.weight.mean().item()) < 0.2 * expected
            assert torch.count_nonzero(module.bias) == 0


def test_loss_is_cross_entropy_and_class_weighted() -> None:
    torch.manual_seed(0)
    pixels, labels = torch.randn(4, 3, 96, 96), torch.tensor([0, 1, 1, 0])
    model = SeedCNNForImageClassification(SeedCNNConfig(image_size=96, dropout=0.0)).eval()
    out = model(pixels, labels=labels)
    assert torch.allclose(out.loss, nn.functional.cross_entropy(out.logits, labels))
    model.config.class_weights = [0.3, 1.7]
    weighted = model(pixels, labels=labels).loss
    expected = nn.functional.cross_entropy(out.logits, labels, weight=torch.tensor([0.3, 1.7]))
    assert torch.allclose(weighted, expected)
    loss, logits = model(pixels, labels=labels, return_dict=False)
    assert torch.allclose(loss, weighted) and logits.shape == (4, 2)


def test_trainer_scales_loss_itself() -> None:
    assert SeedCNNForImageClassification.accepts_loss_kwargs is False
    parameters = inspect.signature(SeedCNNForImageClassification.forward).parameters.values()
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    assert SeedCNNForImageClassification.main_input_name == "pixel_values"


def test_auto_classes_know_seed_cnn() -> None:
    config = AutoConfig.for_model("seed_cnn", image_size=96)
    assert isinstance(config, SeedCNNConfig)
    assert isinstance(AutoModelForImageClassification.from_config(config), SeedCNNForImageClassification)


def test_save_writes_code_and_auto_map_and_reloads_exactly(saved_cnn_dir: Path) -> None:
    config = json.loads((saved_cnn_dir / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": "configuration_seed_cnn.SeedCNNConfig",
        "AutoModelForImageClassification": "modeling_seed_cnn.SeedCNNForImageClassification",
    }
    assert (saved_cnn_dir / "modeling_seed_cnn.py").is_file()
    assert (saved_cnn_dir / "configuration_seed_cnn.py").is_file()
    assert (saved_cnn_dir / "preprocessor_config.json").is_file()
    model = AutoModelForImageClassification.from_pretrained(saved_cnn_dir)
    assert type(model) is SeedCNNForImageClassification
    reference = SeedCNNForImageClassification.from_pretrained(saved_cnn_dir)
    for key, tensor in model.state_dict().items():
        assert torch.equal(tensor, reference.state_dict()[key])


def test_pipeline_on_saved_cnn(saved_cnn_dir: Path) -> None:
    classifier = pipeline("image-classification", model=str(saved_cnn_dir))
    results = classifier(random_images(2))
    assert {item["label"] for item in results[0]} == {"real", "fake"}
    assert sum(item["score"] for item in results[0]) == pytest.approx(1.0, abs=1e-5)


REMOTE_CODE_SCRIPT = """
import sys
sys.modules["hf_aidetect"] = None  # hf_aidetect must not be importable in this process
try:
    import hf_aidetect  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("hf_aidetect was importable")
import torch
from transformers import AutoModelForImageClassification, pipeline
from PIL import Image

model = AutoModelForImageClassification.from_pretrained(sys.argv[1], trust_remote_code=True)
assert type(model).__module__.startswith("transformers_modules."), type(model).__module__
assert model.config.id2label == {0: "real", 1: "fake"}
state = torch.load(sys.argv[2])
assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
classifier = pipeline("image-classification", model=sys.argv[1], trust_remote_code=True)
labels = {r["label"] for r in classifier(Image.new("RGB", (50, 70), "gray"))}
assert labels == {"real", "fake"}, labels
assert not any(name.startswith("hf_aidetect.") for name in sys.modules)
print("REMOTE_OK")
"""


def test_loads_with_remote_code_without_hf_aidetect(saved_cnn_dir: Path, tmp_path: Path) -> None:
    state_path = tmp_path / "state.pt"
    torch.save(SeedCNNForImageClassification.from_pretrained(saved_cnn_dir).state_dict(), state_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HF_MODULES_CACHE"] = str(tmp_path / "modules")
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            textwrap.dedent(REMOTE_CODE_SCRIPT),
            str(saved_cnn_dir),
            str(state_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and "REMOTE_OK" in result.stdout, result.stderr[-3000:]
