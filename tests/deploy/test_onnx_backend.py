"""``predict`` / ``evaluate --backend onnx``: the PyTorch path's rows, errors, exit status and threshold."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from hf_aidetect.cli import main
from hf_aidetect.deploy.onnx_detector import load_onnx_detector
from hf_aidetect.deploy.onnx_export import export_onnx
from hf_aidetect.errors import AIDetectError
from tests.deploy.conftest import save_cnn
from tests.utils import write_not_an_image, write_rgb_png, write_truncated_jpeg, write_zero_byte


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def _predict(model: Path, inputs: list[str], out: Path, *extra: str) -> tuple[int, list[dict[str, str]]]:
    code = main(
        ["-q", "predict", str(model), *inputs, "--format", "csv", "--output", str(out), "--overwrite", *extra]
    )
    return code, _rows(out)


def _assert_same_rows(torch_rows: list[dict], onnx_rows: list[dict]) -> None:
    assert [r["path"] for r in torch_rows] == [r["path"] for r in onnx_rows]
    for ours, theirs in zip(torch_rows, onnx_rows):
        assert (ours["label"], ours["error"]) == (theirs["label"], theirs["error"]), ours["path"]
        if ours["fake_score"]:
            assert float(theirs["fake_score"]) == pytest.approx(float(ours["fake_score"]), abs=1e-4)
        else:
            assert theirs["fake_score"] == ""


@pytest.fixture
def mixed_inputs(tmp_path: Path, demo_test_images) -> list[str]:
    folder = tmp_path / "inputs"
    bad = [
        write_truncated_jpeg(folder / "cut.jpg"),
        write_zero_byte(folder / "empty.jpg"),
        write_not_an_image(folder / "notes.png"),
        write_rgb_png(folder / "small.png", (20, 13), seed=3),
    ]
    good = [str(p) for p in demo_test_images["real"][:5] + demo_test_images["fake"][:5]]
    return [*good, *map(str, bad), str(folder / "missing.jpg")]


@pytest.mark.parametrize("model", ["cnn", "vit"])
def test_predict_onnx_equals_pytorch(model: str, request, mixed_inputs, tmp_path: Path) -> None:
    model_dir = request.getfixturevalue(f"{model}_dir")
    request.getfixturevalue(f"{model}_export")  # writes MODEL/onnx (cnn) or a separate folder (vit)
    onnx_model = model_dir if model == "cnn" else request.getfixturevalue("vit_export")
    torch_code, torch_rows = _predict(model_dir, mixed_inputs, tmp_path / "torch.csv")
    onnx_code, onnx_rows = _predict(onnx_model, mixed_inputs, tmp_path / "onnx.csv", "--backend", "onnx")
    assert torch_code == onnx_code == 1  # error rows -> exit status 1 on both backends
    _assert_same_rows(torch_rows, onnx_rows)
    errors = {Path(r["path"]).name: r["error"] for r in onnx_rows if r["error"]}
    assert errors["missing.jpg"] == "file not found" and errors["empty.jpg"] == "empty file (0 bytes)"
    assert errors["notes.png"].startswith("not an image") and errors["cut.jpg"].startswith("truncated")

    # --unsure and --threshold go through the same code on both backends.
    good = mixed_inputs[:10]
    for flags in (["--unsure"], ["--threshold", "0.52"]):
        _, torch_rows = _predict(model_dir, good, tmp_path / "t.csv", *flags)
        _, onnx_rows = _predict(onnx_model, good, tmp_path / "o.csv", "--backend", "onnx", *flags)
        _assert_same_rows(torch_rows, onnx_rows)
        assert [r.get("unsure_reason") for r in torch_rows] == [r.get("unsure_reason") for r in onnx_rows]


def test_predict_onnx_crops_and_legacy_threshold(tmp_path: Path, demo_test_images, capsys) -> None:
    model_dir = save_cnn(tmp_path / "legacy", fake_threshold=0.48)
    export_onnx(model_dir)
    images = [str(p) for p in demo_test_images["fake"][:6]]
    big = write_rgb_png(tmp_path / "big.png", (80, 70), seed=9)
    images.append(str(big))
    for flags in ([], ["--crops", "4"]):
        _, torch_rows = _predict(model_dir, images, tmp_path / "t.csv", *flags)
        capsys.readouterr()
        main(
            [
                "predict",
                str(model_dir),
                *images,
                "--backend",
                "onnx",
                "--format",
                "csv",
                "-o",
                str(tmp_path / "o.csv"),
                "--overwrite",
                *flags,
            ]
        )
        assert "at threshold 0.4800 (saved with the model)" in capsys.readouterr().err
        _assert_same_rows(torch_rows, _rows(tmp_path / "o.csv"))
        assert all((r["label"] == "fake") == (float(r["fake_score"]) >= 0.48) for r in torch_rows)


def test_onnx_backend_errors(cnn_dir: Path, cnn_export: Path, tmp_path: Path, capsys) -> None:
    image = str(write_rgb_png(tmp_path / "x.png", 32))
    no_export = save_cnn(tmp_path / "plain")
    assert main(["predict", str(no_export), image, "--backend", "onnx"]) == 2
    error = capsys.readouterr().err
    assert "no model.onnx in" in error and "export the model first (hf-aidetect export" in error
    assert (
        main(["predict", str(cnn_dir), image, "--backend", "onnx", "--onnx-file", "model_quantized.onnx"])
        == 2
    )
    assert "no model_quantized.onnx in" in capsys.readouterr().err
    assert main(["predict", str(cnn_dir), image, "--backend", "onnx", "--device", "cuda"]) == 2
    assert "--backend onnx runs on CPU" in capsys.readouterr().err
    broken = tmp_path / "broken_export"
    broken.mkdir()
    (broken / "model.onnx").write_bytes(b"not a graph")
    with pytest.raises(AIDetectError, match=r"no config\.json"):
        load_onnx_detector(broken)
    for name in ("config.json", "preprocessor_config.json"):
        (broken / name).write_text((cnn_export / name).read_text())
    with pytest.raises(AIDetectError, match="onnxruntime cannot load"):
        load_onnx_detector(broken)


def test_evaluate_onnx_equals_pytorch(
    cnn_dir: Path, cnn_export: Path, demo_data: Path, tmp_path: Path
) -> None:
    common = ["--bootstrap", "50", "--robustness-samples", "10"]
    assert main(["-q", "evaluate", str(cnn_dir), str(demo_data), "--out", str(tmp_path / "t"), *common]) == 0
    assert (
        main(
            [
                "-q",
                "evaluate",
                str(cnn_dir),
                str(demo_data),
                "--out",
                str(tmp_path / "o"),
                "--backend",
                "onnx",
                *common,
            ]
        )
        == 0
    )
    torch_report = json.loads((tmp_path / "t" / "metrics.json").read_text())
    onnx_report = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert onnx_report["threshold"]["value"] == torch_report["threshold"]["value"]
    for key in ("accuracy", "balanced_accuracy", "confusion_matrix"):
        assert onnx_report["metrics"][key] == torch_report["metrics"][key]
    assert onnx_report["metrics"]["roc_auc"] == pytest.approx(torch_report["metrics"]["roc_auc"], abs=1e-6)
    assert (tmp_path / "t" / "gallery.png").is_file() and not (tmp_path / "o" / "gallery.png").exists()
    assert "robustness" in onnx_report


def test_evaluate_onnx_refuses_save_threshold(cnn_dir, cnn_export, demo_data, tmp_path, capsys) -> None:
    args = ["evaluate", str(cnn_dir), str(demo_data), "--backend", "onnx", "--threshold", "0.4"]
    assert main([*args, "--save-threshold", "--out", str(tmp_path / "x")]) == 2
    assert "--save-threshold changes the PyTorch weights" in capsys.readouterr().err
