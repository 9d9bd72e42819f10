"""``hf-aidetect export``: the graph, the files beside it, the parity proof, int8, and failures that leave
nothing behind. Parity is also re-checked here independently (raw onnxruntime vs the PyTorch model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hf_aidetect.cli import main
from hf_aidetect.deploy import onnx_export
from hf_aidetect.deploy.onnx_checks import PARITY_TOLERANCE, ParityProof, synthetic_images
from hf_aidetect.deploy.onnx_export import export_onnx
from hf_aidetect.publishing.card_deploy import onnx_snippet
from tests.deploy.conftest import SIDE, save_cnn

REPO_ROOT = Path(__file__).resolve().parents[2]


def _raw_parity(model_dir: Path, export: Path, images: list[Path]) -> tuple[float, bool]:
    """Max |dP(fake)| and label equality, computed without hf_aidetect's scoring code."""
    import onnxruntime
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    from hf_aidetect.data.preprocessing import eval_transform

    model = AutoModelForImageClassification.from_pretrained(model_dir).eval()
    pixels = eval_transform(AutoImageProcessor.from_pretrained(model_dir))(
        {"image": [str(p) for p in images]}
    )
    pixels = pixels["pixel_values"].float()
    with torch.no_grad():
        reference = model(pixel_values=pixels).logits.double().softmax(-1)[:, 1].numpy()
    session = onnxruntime.InferenceSession(str(export / "model.onnx"), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"pixel_values": pixels.contiguous().numpy()})[0]
    scores = torch.from_numpy(logits).double().softmax(-1)[:, 1].numpy()
    return float(np.abs(scores - reference).max()), bool(((scores >= 0.5) == (reference >= 0.5)).all())


@pytest.mark.parametrize("export_fixture", ["cnn_export", "vit_export"])
def test_export_folder_graph_and_parity(export_fixture: str, request, demo_test_images) -> None:
    import onnx
    import onnxruntime

    export = request.getfixturevalue(export_fixture)
    model_dir = request.getfixturevalue(export_fixture.replace("export", "dir"))
    assert sorted(p.name for p in export.iterdir()) == [
        "config.json",
        "export_report.json",
        "model.onnx",
        "preprocessor_config.json",
    ]
    report = json.loads((export / "export_report.json").read_text())
    assert report["opset"] == 18 == next(o.version for o in onnx.load(export / "model.onnx").opset_import)
    assert report["input"]["shape"] == ["batch", 3, SIDE, SIDE]
    parity = report["parity"]
    assert parity["passed"] and parity["num_images"] == 32 and parity["batch_sizes"] == [32, 1]
    assert parity["max_abs_diff"] < PARITY_TOLERANCE and parity["labels_identical"]
    assert report["decision"]["threshold"] == 0.5 and report["output"]["fake_index"] == 1
    assert json.loads((export / "config.json").read_text()) == json.loads(
        (model_dir / "config.json").read_text()
    )
    assert report["files"]["model.onnx"]["bytes"] == (export / "model.onnx").stat().st_size

    session = onnxruntime.InferenceSession(str(export / "model.onnx"), providers=["CPUExecutionProvider"])
    (graph_input,), (graph_output,) = session.get_inputs(), session.get_outputs()
    assert (graph_input.name, graph_output.name) == ("pixel_values", "logits")
    assert isinstance(graph_input.shape[0], str) and graph_input.shape[1:] == [3, SIDE, SIDE]
    for batch in (1, 7, 33):  # the batch axis is dynamic
        out = session.run(None, {"pixel_values": np.zeros((batch, 3, SIDE, SIDE), np.float32)})[0]
        assert out.shape == (batch, 2)

    # Independent check on 32 real demo images (16 real, 16 fake).
    images = demo_test_images["real"][:16] + demo_test_images["fake"][:16]
    max_diff, same_labels = _raw_parity(model_dir, export, images)
    assert max_diff < PARITY_TOLERANCE and same_labels


def test_export_with_check_data_and_int8(cnn_dir: Path, demo_data: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cnn_onnx"
    code = main(
        ["export", str(cnn_dir), "--out", str(out), "--quantize", "int8", "--check-data", str(demo_data)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Parity with PyTorch on 32 images" in printed and "int8:" in printed and "points) on 40" in printed
    report = json.loads((out / "export_report.json").read_text())
    assert "demo" in report["parity"]["images"] or "test split" in report["parity"]["images"]
    quantized = report["quantized"]
    assert (out / "model_quantized.onnx").stat().st_size == quantized["bytes"]
    check = quantized["accuracy"]
    assert check["num_images"] == 40 and (check["num_real"], check["num_fake"]) == (20, 20)
    assert check["accuracy_change"] == pytest.approx(check["accuracy_int8"] - check["accuracy_float"])
    assert 0 <= check["label_agreement"] <= 1 and check["size_bytes_int8"] < check["size_bytes_float"]

    # The float accuracy the report states is predict --backend onnx's accuracy on the same images.
    rows = tmp_path / "rows.csv"
    test_dir = demo_data / "real_vs_fake" / "real-vs-fake" / "test"
    main(["-q", "predict", str(out), str(test_dir), "--backend", "onnx", "--format", "csv", "-o", str(rows)])
    lines = rows.read_text().splitlines()[1:]
    correct = [line.split(",")[1] == Path(line.split(",")[0]).parent.name for line in lines]
    assert check["accuracy_float"] == pytest.approx(sum(correct) / len(correct))
    int8_rows = tmp_path / "int8.csv"
    main(
        [
            "-q",
            "predict",
            str(out),
            str(test_dir),
            "--backend",
            "onnx",
            "--onnx-file",
            "model_quantized.onnx",
            "--format",
            "csv",
            "-o",
            str(int8_rows),
        ]
    )
    lines = int8_rows.read_text().splitlines()[1:]
    correct = [line.split(",")[1] == Path(line.split(",")[0]).parent.name for line in lines]
    assert check["accuracy_int8"] == pytest.approx(sum(correct) / len(correct))


def test_card_deploy_section(cnn_dir: Path, demo_data: Path, tmp_path: Path) -> None:
    import shutil

    from hf_aidetect.publishing.model_card import write_model_card

    model = Path(shutil.copytree(cnn_dir, tmp_path / "model", ignore=shutil.ignore_patterns("onnx")))
    card = write_model_card(model, repo_id="me/cnn").read_text()
    assert "## Deploy" not in card
    export_onnx(model, quantize="int8", check_data=str(demo_data))
    card = write_model_card(model, repo_id="me/cnn", card_data={"space_id": "me/cnn-demo"}).read_text()
    deploy = card[card.index("## Deploy") : card.index("## Bias")]
    assert "[me/cnn-demo](https://huggingface.co/spaces/me/cnn-demo)" in deploy
    assert "`onnx/model_quantized.onnx`" in deploy and "opset 18" in deploy and "labels identical" in deploy
    assert "The int8 graph's accuracy on 40 images" in deploy
    assert onnx_snippet("me/cnn", numpy_preprocessing=True) in deploy  # native-resolution processor
    assert "space_id" in (model / "model_card_data.json").read_text()  # push re-renders it the same


def test_readme_snippet_is_the_cards() -> None:
    assert (
        onnx_snippet("you/vit-fake-faces", numpy_preprocessing=True) in (REPO_ROOT / "README.md").read_text()
    )


def test_export_refusals_leave_nothing(cnn_dir: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    out = tmp_path / "out"
    assert main(["export", str(cnn_dir), "--out", str(out), "--quantize", "int8"]) == 2
    assert "--quantize int8 needs --check-data DATA" in capsys.readouterr().err
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["export", str(cnn_dir), "--out", str(out)]) == 2
    assert "already exists and is not empty; pass --overwrite to replace it" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "nope"), "--out", str(tmp_path / "x")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", str(cnn_dir), "--out", str(cnn_dir), "--overwrite"]) == 2  # never over MODEL
    assert "one of the inputs" in capsys.readouterr().err

    failing = ParityProof(
        32, "test", [32, 1], 0.5, max_abs_diff=3e-3, mean_abs_diff=1e-3, labels_identical=True
    )
    monkeypatch.setattr(onnx_export, "prove_parity", lambda *args, **kwargs: failing)
    assert main(["export", str(cnn_dir), "--out", str(out), "--overwrite"]) == 2
    error = capsys.readouterr().err
    assert "ONNX export rejected, nothing written: parity FAILED" in error and "3.00e-03" in error
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]  # the old folder is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left

    monkeypatch.undo()
    assert main(["export", str(cnn_dir), "--out", str(out), "--overwrite"]) == 0
    assert "keep.txt" not in {p.name for p in out.iterdir()}
    assert oct(out.stat().st_mode & 0o777) != oct(0o700)  # an ordinary folder, not mkdtemp's private one


def test_legacy_threshold_is_the_exports_decision(tmp_path: Path) -> None:
    model_dir = save_cnn(tmp_path / "legacy", fake_threshold=0.37)
    out, report = export_onnx(model_dir, tmp_path / "legacy_onnx")
    assert report["decision"] == {
        "threshold": 0.37,
        "source": "saved with the model",
        "rule": "fake iff softmax(logits)[:, 1] >= 0.37",
    }
    assert json.loads((out / "config.json").read_text())["fake_threshold"] == 0.37


@pytest.mark.parametrize("numpy_preprocessing", [True, False], ids=["numpy", "AutoImageProcessor"])
def test_card_snippet_without_hf_aidetect_matches_predict(
    trained_cnn_dir: Path, demo_test_images, tmp_path: Path, numpy_preprocessing: bool
) -> None:
    """The issue's check: a demo model exported and scored with onnxruntime in a process where hf_aidetect
    cannot be imported (the model card's own snippet), then compared with ``predict``."""
    out, _ = export_onnx(trained_cnn_dir, tmp_path / "export")
    images = [str(p) for p in demo_test_images["real"] + demo_test_images["fake"]]
    odd = [synthetic_images(SIDE)[i] for i in (1, 2, 3)]  # smaller than, larger than, not square
    for index, image in enumerate(odd):
        image.save(tmp_path / f"odd_{index}.png")
        images.append(str(tmp_path / f"odd_{index}.png"))
    predicted = tmp_path / "predict.csv"
    assert (
        main(["-q", "predict", str(trained_cnn_dir), *images, "--format", "csv", "-o", str(predicted)]) == 0
    )
    expected = {}
    for line in predicted.read_text().splitlines()[1:]:
        path, label, score, _ = line.split(",")
        expected[path] = (label, float(score))

    # -I: no PYTHONPATH, no current folder on sys.path; the import block stands for "not installed".
    script = "import sys\nsys.modules['hf_aidetect'] = None\n"
    script += onnx_snippet(None, numpy_preprocessing, folder=str(out), images=tuple(images))
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    done = subprocess.run(
        [sys.executable, "-I", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = {}
    for line in done.stdout.splitlines():
        path, label, score = line.rsplit(" ", 2)
        got[path] = (label, float(score))
    assert set(got) == set(expected)
    labels = {label for label, _ in expected.values()}
    assert labels == {"real", "fake"}
    for path, (label, score) in expected.items():
        assert got[path][0] == label, path
        assert got[path][1] == pytest.approx(score, abs=1e-4), path
