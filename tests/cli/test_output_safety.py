"""Every file the CLI writes: never over an input or into the model, never an existing one without
--overwrite, never half-written, checked before any heavy work; one error line, never a traceback.

(Issue 11 defects 1 and 4.) "Before any heavy work" is proven by naming a model or dataset that does not
exist: the error must be about the output, which is checked first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hf_aidetect.cli import main as cli_main
from hf_aidetect.inference.threshold import save_threshold
from tests.faults.conftest import assert_one_line_error, assert_unchanged, snapshot
from tests.inference.conftest import save_tiny_cnn
from tests.training.conftest import write_tiny_dataset
from tests.utils import write_rgb_jpeg, write_rgb_png

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return save_tiny_cnn(tmp_path / "model")


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    return [write_rgb_jpeg(tmp_path / "photos" / f"{index}.jpg", size=40, seed=index) for index in range(3)]


def _predict(model: Path, images: list[Path], *extra: str) -> int:
    return cli_main(["predict", str(model), *map(str, images), "--no-progress", *extra])


# -- predict ------------------------------------------------------------------------------------------


def test_predict_output_pointed_at_an_input_image(model, images, tmp_path, capsys) -> None:
    before = snapshot(tmp_path)
    assert _predict(model, images, "--output", str(images[1]), "--overwrite") == 2
    assert_one_line_error(capsys.readouterr().err, str(images[1]), "one of the inputs")
    assert_unchanged(before, tmp_path)


def test_predict_output_pointed_into_the_model(model, images, tmp_path, capsys) -> None:
    before = snapshot(model)
    for target in (model / "config.json", model / "predictions.csv"):
        assert _predict(model, images, "--output", str(target), "--overwrite") == 2
        assert_one_line_error(capsys.readouterr().err, "inside the model folder")
    assert_unchanged(before, model)
    assert _predict(model, images, "--output", str(tmp_path / "ok.csv")) == 0  # the model still works


def test_predict_existing_output_needs_overwrite(model, images, tmp_path, capsys) -> None:
    out = tmp_path / "preds.csv"
    out.write_text("keep me\n")
    assert _predict(model, images, "--output", str(out)) == 2
    assert_one_line_error(capsys.readouterr().err, str(out), "--overwrite")
    assert out.read_text() == "keep me\n"
    assert _predict(model, images, "--output", str(out), "--overwrite") == 0
    assert out.read_text().startswith("path,label,fake_score,error\n")


@pytest.mark.parametrize(
    ("where", "needle"),
    [("a-folder", "is a folder"), ("a-file/out.csv", "is a file, not a folder")],
    ids=["IsADirectory", "NotADirectory"],
)
def test_predict_unwritable_output_is_checked_before_the_model_loads(images, tmp_path, capsys, where, needle):
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("x")
    status = _predict(tmp_path / "no-such-model", images, "--output", str(tmp_path / where))
    assert status == 2
    assert_one_line_error(capsys.readouterr().err, needle)


def test_predict_interrupted_leaves_no_half_written_output(
    model, images, tmp_path, monkeypatch, capsys
) -> None:
    import hf_aidetect.inference.predict as predict

    out = tmp_path / "preds.csv"
    out.write_text("previous run\n")
    real = predict.predict_files

    def interrupted(*args, **kwargs):
        rows = real(*args, **kwargs)
        yield next(rows)
        raise KeyboardInterrupt

    monkeypatch.setattr(predict, "predict_files", interrupted)
    assert _predict(model, images, "--output", str(out), "--overwrite", "--format", "csv") == 130
    assert_one_line_error(capsys.readouterr().err, "interrupted")
    assert out.read_text() == "previous run\n" and sorted(os.listdir(tmp_path / "photos")) == [
        "0.jpg",
        "1.jpg",
        "2.jpg",
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model", "photos", "preds.csv"]


def _without_root_overrides() -> None:
    """In the child, before exec: as root, give up CAP_DAC_OVERRIDE so permission bits apply."""
    if os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(24, 1, 0, 0, 0) != 0:  # PR_CAPBSET_DROP, CAP_DAC_OVERRIDE
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses prctl to drop root's override")
def test_predict_unwritable_folder_permission_denied(model, tmp_path: Path) -> None:
    """Permission denied for real, in a child process that permission bits bind (also when run as root)."""
    image = write_rgb_png(tmp_path / "face.png", size=40)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    code = "import sys; from hf_aidetect.cli import main; sys.exit(main(sys.argv[1:]))"
    args = ["predict", str(model), str(image), "--output", str(locked / "preds.csv"), "--no-progress"]
    try:
        result = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=180,
            preexec_fn=_without_root_overrides, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
    finally:
        locked.chmod(0o755)
    assert result.returncode == 2, result.stderr[-2000:]
    assert_one_line_error(result.stderr, str(locked), "permission denied")
    assert os.listdir(locked) == []


# -- evaluate -----------------------------------------------------------------------------------------


@pytest.fixture
def data(tmp_path: Path) -> Path:
    counts = {split: {"real": 4, "fake": 4} for split in ("train", "valid", "test")}
    return write_tiny_dataset(tmp_path / "data", counts)


def _evaluate(model: Path, data: Path, *extra: str) -> int:
    fast = ["--no-robustness", "--no-gallery", "--bootstrap", "20"]
    return cli_main(["evaluate", str(model), str(data), *fast, *extra])


def test_evaluate_refuses_to_replace_a_report_without_overwrite(model, data, tmp_path, capsys) -> None:
    report = tmp_path / "report"
    assert _evaluate(model, data, "--out", str(report)) == 0
    (report / "notes.txt").write_text("mine")
    before, model_before = snapshot(report), snapshot(model)
    assert _evaluate(model, data, "--out", str(report)) == 2
    assert_one_line_error(capsys.readouterr().err, str(report), "--overwrite")
    assert_unchanged(before, report)
    assert _evaluate(model, data, "--out", str(report), "--overwrite") == 0
    assert not (report / "notes.txt").exists() and (report / "metrics.json").is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data", "model", "report"]  # nothing partial
    assert_unchanged(model_before, model)


@pytest.mark.parametrize(
    "where", ["model", "data", "data/train", "."], ids=["the-model", "the-data", "inside-data", "above-both"]
)
def test_evaluate_out_never_replaces_the_model_or_the_data(model, data, tmp_path, capsys, where) -> None:
    before = snapshot(tmp_path)
    assert _evaluate(model, data, "--out", str(tmp_path / where), "--overwrite") == 2
    assert_one_line_error(capsys.readouterr().err, "--out")
    assert_unchanged(before, tmp_path)


def test_evaluate_out_is_checked_before_anything_loads(tmp_path: Path, capsys) -> None:
    (tmp_path / "report").write_text("a file")
    assert _evaluate(tmp_path / "no-model", tmp_path / "no-data", "--out", str(tmp_path / "report")) == 2
    assert_one_line_error(capsys.readouterr().err, "--out", "is a file")


def test_evaluate_failure_leaves_no_half_report(model, data, tmp_path, monkeypatch, capsys) -> None:
    import hf_aidetect.inference.evaluation as evaluation

    report = tmp_path / "report"
    assert _evaluate(model, data, "--out", str(report)) == 0
    before = snapshot(report)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device", str(report / "roc_curve.png"))

    monkeypatch.setattr(evaluation, "write_plots", broken)
    assert _evaluate(model, data, "--out", str(report), "--overwrite") == 1
    assert_one_line_error(capsys.readouterr().err, "roc_curve.png", "no space left")
    assert_unchanged(before, report)  # the previous report, whole
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data", "model", "report"]


# -- explain / demo-data / train ----------------------------------------------------------------------


def test_explain_out_rules(model, images, tmp_path, capsys) -> None:
    before = snapshot(model)
    assert cli_main(["explain", str(model), str(images[0]), "--out", str(model / "heatmaps")]) == 2
    assert_one_line_error(capsys.readouterr().err, "inside the model folder")
    assert cli_main(["explain", str(model), str(images[0]), "--out", str(images[0])]) == 2
    assert_one_line_error(capsys.readouterr().err, "one of the inputs")
    out = tmp_path / "heatmaps"
    out.mkdir()
    (out / "earlier.png").write_bytes(b"png")
    assert cli_main(["explain", str(model), str(images[0]), "--out", str(out)]) == 2
    assert_one_line_error(capsys.readouterr().err, str(out), "--overwrite")
    assert_unchanged(before, model)
    assert cli_main(["explain", str(model), str(images[0]), "--out", str(out), "--overwrite"]) == 0
    written = sorted(path.name for path in out.iterdir())
    assert "earlier.png" in written and len(written) == 2 and not [n for n in written if n.startswith(".")]


def test_demo_data_unwritable_out_dir(tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("x")
    assert cli_main(["demo-data", str(tmp_path / "file")]) == 2
    assert_one_line_error(capsys.readouterr().err, "is a file")
    assert cli_main(["demo-data", str(tmp_path / "file" / "sub")]) == 2
    assert_one_line_error(capsys.readouterr().err, "is a file, not a folder")
    assert (tmp_path / "file").read_text() == "x"


@pytest.mark.parametrize(
    ("where", "needle"), [("a-file", "is a file"), ("a-file/run", "is a file, not a folder")]
)
def test_train_unwritable_output_dir_before_the_data_loads(tmp_path: Path, capsys, where, needle) -> None:
    (tmp_path / "a-file").write_text("x")
    argv = ["train", "--model_type", "seed_cnn", "--dataset", str(tmp_path / "no-data")]
    assert cli_main([*argv, "--output_dir", str(tmp_path / where)]) == 2
    assert_one_line_error(capsys.readouterr().err, "--output_dir", needle)
    assert (tmp_path / "a-file").read_text() == "x"


def test_threshold_save_keeps_config_formatting(model) -> None:
    save_threshold(model, 0.3)
    text = (model / "config.json").read_text()
    assert text.endswith("}\n") and json.loads(text)["fake_threshold"] == 0.3


def test_an_unforeseen_error_is_one_line_and_verbose_shows_the_traceback(model, images, monkeypatch, capsys):
    import hf_aidetect.inference.predict as predict

    def broken(*args, **kwargs):
        raise ZeroDivisionError("something nobody foresaw")

    monkeypatch.setattr(predict, "predict_files", broken)
    assert _predict(model, images) == 1
    assert_one_line_error(capsys.readouterr().err, "ZeroDivisionError: something nobody foresaw", "-v")
    assert cli_main(["-v", "predict", str(model), *map(str, images), "--no-progress"]) == 1
    assert "Traceback" in capsys.readouterr().err
