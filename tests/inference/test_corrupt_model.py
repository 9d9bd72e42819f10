"""predict / evaluate / explain on a model folder with a cut-off or mismatched file: one line naming the
file, never a loader traceback (issue 11, defect 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_aidetect.cli import main as cli_main
from hf_aidetect.errors import ModelFileError
from hf_aidetect.inference.loading import load_detector
from tests.faults.conftest import assert_one_line_error
from tests.inference.conftest import save_tiny_cnn, save_tiny_vit
from tests.training.conftest import write_tiny_dataset
from tests.utils import write_rgb_png


@pytest.fixture(params=["cnn", "vit"])
def cut_model(request, tmp_path: Path) -> Path:
    save = save_tiny_cnn if request.param == "cnn" else save_tiny_vit
    folder = save(tmp_path / "model")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size * 2 // 3])
    return folder


def test_predict_and_evaluate_name_the_cut_off_file(cut_model: Path, tmp_path: Path, capsys) -> None:
    image = write_rgb_png(tmp_path / "face.png", size=40)
    weights = cut_model / "model.safetensors"
    assert cli_main(["predict", str(cut_model), str(image), "--no-progress"]) == 2
    assert_one_line_error(capsys.readouterr().err, str(weights), "corrupt or incomplete")
    data = write_tiny_dataset(
        tmp_path / "data", {s: {"real": 2, "fake": 2} for s in ("train", "valid", "test")}
    )
    assert cli_main(["evaluate", str(cut_model), str(data), "--out", str(tmp_path / "report")]) == 2
    assert_one_line_error(capsys.readouterr().err, str(weights), "corrupt or incomplete")
    assert not (tmp_path / "report").exists()
    assert cli_main(["explain", str(cut_model), str(image), "--out", str(tmp_path / "maps")]) == 2
    assert_one_line_error(capsys.readouterr().err, str(weights), "corrupt or incomplete")


def test_a_config_that_no_longer_fits_the_weights(tmp_path: Path) -> None:
    folder = save_tiny_cnn(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    config["conv_channels"] = [channels * 2 for channels in config["conv_channels"]]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=r"do not fit its config\.json"):
        load_detector(folder, device="cpu")
