"""``hf-aidetect predict``: one row per path in input order, error rows for bad files, formats, exit code."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from hf_aidetect.cli import main
from hf_aidetect.inference.files import expand_paths
from hf_aidetect.inference.loading import load_detector
from hf_aidetect.inference.predict import predict_files
from hf_aidetect.inference.threshold import save_threshold
from tests.utils import write_not_an_image, write_rgb_jpeg, write_truncated_jpeg, write_zero_byte


@pytest.fixture
def mixed_folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Good images plus one bad file of every kind; maps file name -> expected error fragment ('' = good)."""
    folder = tmp_path / "mixed"
    for index in range(5):
        write_rgb_jpeg(folder / f"good_{index}.jpg", 40, seed=index)
    write_rgb_jpeg(folder / "nested" / "deep.jpg", 36, seed=9)
    write_truncated_jpeg(folder / "truncated.jpg")
    write_zero_byte(folder / "zero.jpg")
    write_not_an_image(folder / "text.png")
    (folder / ".DS_Store").write_bytes(b"\x00junk")  # hidden: never a row
    expected = {f"good_{i}.jpg": "" for i in range(5)}
    expected.update(
        {"deep.jpg": "", "truncated.jpg": "truncated", "zero.jpg": "empty", "text.png": "not an image"}
    )
    return folder, expected


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_mixed_folder_one_row_per_path_with_reasons(tiny_vit_dir, mixed_folder, tmp_path, capsys):
    folder, expected = mixed_folder
    missing = tmp_path / "missing.jpg"
    output = tmp_path / "out" / "preds.csv"
    status = main(
        ["-q", "predict", str(tiny_vit_dir), str(folder), str(missing), "--batch-size", "3",
         "--num-workers", "1", "--output", str(output), "--format", "csv"]
    )  # fmt: skip
    assert status == 1  # errors happened, the run went on
    rows = _csv_rows(output.read_text())
    assert [row["path"] for row in rows] == [str(p) for p in expand_paths([str(folder), str(missing)])]
    assert len(rows) == len(expected) + 1
    by_name = {Path(row["path"]).name: row for row in rows}
    assert "file not found" in by_name["missing.jpg"]["error"]
    for name, fragment in expected.items():
        row = by_name[name]
        if fragment:
            assert fragment in row["error"].lower() and row["label"] == "" and row["fake_score"] == ""
        else:
            assert row["error"] == "" and row["label"] in ("real", "fake")
            assert 0.0 <= float(row["fake_score"]) <= 1.0
            assert row["label"] == ("fake" if float(row["fake_score"]) >= 0.5 else "real")
    assert capsys.readouterr().out == ""  # everything went to --output


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_becomes_error_row(tiny_vit_dir, tmp_path):
    locked = write_rgb_jpeg(tmp_path / "locked.jpg", 32)
    locked.chmod(0)
    try:
        (row,) = predict_files(load_detector(tiny_vit_dir), [locked], progress=False)
    finally:
        locked.chmod(0o644)
    assert "permission denied" in row.error


def test_all_good_exits_zero_and_formats_parse(tiny_cnn_dir, good_images, capsys):
    paths = [str(p) for p in good_images]
    outputs = {}
    for fmt in ("csv", "jsonl", "table"):
        assert main(["-q", "predict", str(tiny_cnn_dir), *paths, "--format", fmt]) == 0
        outputs[fmt] = capsys.readouterr().out
    csv_rows = _csv_rows(outputs["csv"])
    assert list(csv_rows[0]) == ["path", "label", "fake_score", "error"]
    json_rows = [json.loads(line) for line in outputs["jsonl"].splitlines()]
    assert [r["path"] for r in csv_rows] == [r["path"] for r in json_rows] == paths
    for csv_row, json_row in zip(csv_rows, json_rows):
        assert json_row["error"] == "" and json_row["label"] == csv_row["label"]
        assert json_row["fake_score"] == pytest.approx(float(csv_row["fake_score"]), abs=1e-6)
    table_lines = outputs["table"].splitlines()
    assert table_lines[0].split() == ["path", "label", "fake_score", "error"]
    assert set(table_lines[1]) <= {"-", " "}
    for line, row in zip(table_lines[2:], csv_rows):
        path, label, score = line.split()
        assert (path, label) == (row["path"], row["label"]) and float(score) == float(row["fake_score"])


def test_no_match_is_a_usage_error(tiny_vit_dir, tmp_path, capsys):
    pattern = str(tmp_path / "nowhere" / "*.jpg")
    assert main(["-q", "predict", str(tiny_vit_dir), pattern]) == 2
    assert pattern in capsys.readouterr().err


def test_threshold_precedence_and_boundary(tiny_vit_dir, good_images, tmp_path, capsys):
    model_dir = shutil.copytree(tiny_vit_dir, tmp_path / "model")
    path = str(good_images[0])

    def predict(*flags: str) -> dict:
        assert main(["-q", "predict", str(model_dir), path, "--format", "jsonl", *flags]) == 0
        return json.loads(capsys.readouterr().out)

    score = predict()["fake_score"]
    assert predict()["label"] == ("fake" if score >= 0.5 else "real")  # nothing saved: 0.5
    save_threshold(model_dir, 0.0)  # saved threshold beats the default
    assert predict()["label"] == "fake"
    save_threshold(model_dir, 1.0)
    assert predict()["label"] == "real"
    assert predict("--threshold", "0.0")["label"] == "fake"  # the flag beats the saved one
    # Boundary: fake iff score >= threshold (on the exact float32-derived score the model produced).
    (row,) = predict_files(load_detector(model_dir), [path], threshold=score, progress=False)
    assert row.fake_score == score and row.label == "fake"
    (row,) = predict_files(load_detector(model_dir), [path], threshold=score + 1e-9, progress=False)
    assert row.label == "real"


def test_invalid_threshold_flag_is_usage_error(tiny_vit_dir, good_images, capsys):
    assert main(["-q", "predict", str(tiny_vit_dir), str(good_images[0]), "--threshold", "1.5"]) == 2
    assert "--threshold" in capsys.readouterr().err


def test_expand_paths_order_dedupe_and_globs(tmp_path, good_images):
    folder = tmp_path / "good"
    (folder / "notes.txt").write_text("not an image")
    files = expand_paths([str(good_images[1]), str(folder), str(folder / "*.jpg")])
    assert files[0] == good_images[1]  # argument order first
    assert sorted(map(str, files)) == sorted(map(str, good_images))  # each once, no .txt
    assert any(p.name == "notes.txt" for p in expand_paths([str(folder)], all_files=True))
    recursive = expand_paths([str(folder / "**" / "*.png")])
    assert {p.name for p in recursive} == {"b.png", "d.png"}


def test_error_reasons_name_the_problem(tmp_path):
    from hf_aidetect.errors import BadImageError
    from hf_aidetect.inference.predict import describe_error

    image = write_rgb_jpeg(tmp_path / "x.jpg", 32)
    assert "permission denied" in describe_error(image, PermissionError(13, "Permission denied"))
    wrapped = BadImageError("Cannot decode image")
    wrapped.__cause__ = OSError("image file is truncated (3 bytes not processed)")
    assert describe_error(image, wrapped).startswith("truncated")


@pytest.mark.parametrize("kind", ["missing", "no_config"])
def test_bad_model_path_is_a_usage_error(kind, tmp_path, good_images, capsys):
    model = tmp_path / "model"
    if kind == "no_config":
        model.mkdir()
    assert main(["-q", "predict", str(model), str(good_images[0])]) == 2
    err = capsys.readouterr().err
    assert str(model) in err and ("does not exist" in err or "config.json" in err)
