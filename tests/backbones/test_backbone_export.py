"""``hf-aidetect export`` on every backbone family, and on a LoRA adapter-form save: the ONNX graph passes
the exporter's parity proof, and an independent onnxruntime-vs-PyTorch check agrees on other images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hf_aidetect.cli import main
from hf_aidetect.deploy.onnx_checks import PARITY_TOLERANCE
from hf_aidetect.models import ModelArguments, build_model
from hf_aidetect.models.backbones.twins import FAMILIES
from tests.backbones.test_lora_publish import _local_adapter
from tests.deploy.test_onnx_export import _raw_parity


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Eight images of other sides than the model's (the eval transform cuts the centre window)."""
    folder = tmp_path_factory.mktemp("export_faces")
    rng = np.random.default_rng(7)
    paths = []
    for index in range(8):
        side = 24 + 8 * index
        path = folder / f"{index}.png"
        Image.fromarray(rng.integers(0, 256, (side, side + 4, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def _sharpen_head(model: torch.nn.Module) -> None:
    """A random head scores everything near 0.5; a wider one spreads the scores (labels then differ)."""
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, 2.0, generator=torch.Generator().manual_seed(0))


def _check_export(model_dir: Path, faces: list[Path]) -> None:
    assert main(["-q", "export", str(model_dir)]) == 0
    export = model_dir / "onnx"
    parity = json.loads((export / "export_report.json").read_text())["parity"]
    assert parity["passed"] and parity["labels_identical"] and parity["max_abs_diff"] < PARITY_TOLERANCE
    difference, labels_identical = _raw_parity(model_dir, export, faces)
    assert difference < PARITY_TOLERANCE and labels_identical


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_exports_to_onnx_with_parity(family, twins, faces, tmp_path: Path) -> None:
    model, processor = build_model(ModelArguments(model_name_or_path=str(twins[family]), tuning="full"))
    _sharpen_head(model)
    out = tmp_path / family
    model.save_pretrained(out)
    processor.save_pretrained(out)
    _check_export(out, faces)


def test_an_adapter_form_save_exports_its_merged_model(twins, faces, tmp_path: Path) -> None:
    out = _local_adapter(twins["dinov2_with_registers"], tmp_path / "adapter")
    assert not (out / "model.safetensors").exists()
    _check_export(out, faces)
