"""``hf-aidetect audit``: JPEG quality from quantization tables, a planted format shortcut, planted leaks,
a clean set left unflagged, and the warning a training run logs."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hf_aidetect.cli import main
from hf_aidetect.data import load_detection_dataset
from hf_aidetect.data.audit import audit_before_training, run_audit
from hf_aidetect.data.audit.audit import padding_warning
from hf_aidetect.data.audit.facts import FileFacts, estimate_jpeg_quality


def _picture(seed: int, size: int = 48) -> Image.Image:
    """A distinct smooth picture per seed (random 6 x 6 colours, upscaled) with a little noise."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize(
        (size, size), Image.BICUBIC
    )
    noisy = np.asarray(small, dtype=np.int16) + rng.integers(-6, 7, (size, size, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _write_set(root: Path, counts: dict[str, int], fake_format: str = "PNG") -> Path:
    """``root/<split>/<real|fake>/`` of distinct pictures; reals PNG, fakes ``fake_format``."""
    seed = 0
    for split, n in counts.items():
        for label in ("real", "fake"):
            folder = root / split / label
            folder.mkdir(parents=True)
            for index in range(n):
                seed += 1
                fmt = fake_format if label == "fake" else "PNG"
                extension = ".jpg" if fmt == "JPEG" else ".png"
                _picture(seed).save(
                    folder / f"{index:03d}{extension}",
                    format=fmt,
                    **({"quality": 90} if fmt == "JPEG" else {}),
                )
    return root


COUNTS = {"train": 40, "valid": 12, "test": 12}


@pytest.mark.parametrize("quality", [10, 30, 50, 75, 90, 95, 100])
def test_jpeg_quality_is_recovered_from_the_quantization_tables(quality):
    buffer = io.BytesIO()
    _picture(1).save(buffer, format="JPEG", quality=quality)
    with Image.open(buffer) as image:
        assert estimate_jpeg_quality(image.quantization) == (quality, True)


def test_custom_tables_are_estimated_but_not_exact():
    buffer = io.BytesIO()
    tables = [[3 + (i % 7) for i in range(64)], [5 + (i % 5) for i in range(64)]]
    _picture(2).save(buffer, format="JPEG", qtables=tables)
    with Image.open(buffer) as image:
        quality, exact = estimate_jpeg_quality(image.quantization)
    assert 1 <= quality <= 100 and not exact
    assert estimate_jpeg_quality({}) == (None, False)


def test_png_reals_and_jpeg_fakes_are_a_loud_shortcut(tmp_path, capsys):
    data = _write_set(tmp_path / "data", COUNTS, fake_format="JPEG")
    out = tmp_path / "audit"
    assert main(["audit", str(data), "--out", str(out)]) == 1
    report = json.loads((out / "audit.json").read_text())
    probe = {(row["split"], row["feature"]): row for row in report["probe"]}
    assert probe["train", "file format"]["auc"] > 0.99 and probe["train", "file format"]["shortcut"]
    assert probe["all splits", "all metadata combined"]["auc"] > 0.99
    assert probe["train", "image size"]["auc"] == 0.5 and not probe["train", "image size"]["shortcut"]
    shortcuts = [line for line in report["warnings"] if line.startswith("SHORTCUT: file format alone")]
    assert len(shortcuts) == 1 and "1.000 in train (40 real, 40 fake)" in shortcuts[0]
    train_fake = next(r for r in report["distributions"] if r["split"] == "train" and r["class"] == "fake")
    assert train_fake["formats"] == {"JPEG": 40} and train_fake["jpeg_quality"] == {"90": 40}
    assert train_fake["subsampling"] == {"4:2:0": 40} and train_fake["sizes"] == {"48x48": 40}
    assert "WARNING SHORTCUT: file format" in capsys.readouterr().err
    markdown = (out / "audit.md").read_text()
    assert "## WARNINGS" in markdown and "| file format | **1.000** (!)" in markdown


def test_planted_exact_and_near_duplicates_across_splits_are_found(tmp_path):
    data = _write_set(tmp_path / "data", COUNTS)
    source = data / "train" / "fake" / "005.png"
    near = data / "test" / "fake" / "planted.jpg"
    with Image.open(source) as image:  # re-encoded and slightly resized: a near copy, not the same bytes
        image.resize((44, 44), Image.BILINEAR).save(near, format="JPEG", quality=80)
    exact = data / "valid" / "real" / "copy.png"
    exact.write_bytes((data / "train" / "real" / "001.png").read_bytes())
    report = run_audit(load_detection_dataset(data))
    assert [(p.split_a, Path(p.where_a).name, p.split_b, Path(p.where_b).name) for p in report.exact] == [
        ("train", "001.png", "validation", "copy.png")
    ]
    pairs = [(p.split_a, Path(p.where_a).name, p.split_b, Path(p.where_b).name) for p in report.near]
    assert pairs == [("train", "005.png", "test", "planted.jpg")]
    assert any(
        line.startswith("LEAK: 1 exact duplicate pair(s) between train and validation")
        for line in report.warnings
    )
    assert any("near-duplicate pair(s) between train and test" in line for line in report.warnings)


def test_a_clean_set_is_not_flagged(tmp_path, capsys):
    data = _write_set(tmp_path / "data", COUNTS)
    out = tmp_path / "audit"
    assert main(["audit", str(data), "--out", str(out)]) == 0
    report = json.loads((out / "audit.json").read_text())
    assert report["warnings"] == [] and report["exact_duplicates"] == [] and report["near_duplicates"] == []
    assert not [row for row in report["probe"] if row["shortcut"]]
    assert "no shortcut or leak found" in capsys.readouterr().out
    assert "No shortcut" in (out / "audit.md").read_text()


def test_training_logs_the_cheap_audit(tmp_path, caplog):
    from tests.training.conftest import FAST, TINY_CNN, recipe_args

    data = _write_set(tmp_path / "data", COUNTS, fake_format="JPEG")
    (data / "test" / "real" / "leak.png").write_bytes((data / "train" / "real" / "002.png").read_bytes())
    assert len(audit_before_training(load_detection_dataset(data))) >= 2
    from hf_aidetect.training.runner import build_trainer

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hf_aidetect"):
        build_trainer(
            *recipe_args(
                data, tmp_path / "out", TINY_CNN, **{k: v for k, v in FAST.items() if k != "augment"}
            )
        )
    logged = caplog.text
    assert "Data audit: SHORTCUT: file format alone" in logged
    assert "Data audit: LEAK: 1 exact duplicate pair(s) between train and test" in logged
    assert "SMALL IMAGES" not in logged  # 48 px pictures, 32 px windows: no padding

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hf_aidetect"):
        build_trainer(*recipe_args(data, tmp_path / "out64", {**TINY_CNN, "image_size": 64}, **FAST))
    assert (
        "Data audit: SMALL IMAGES: 80 of 80 sampled training images are smaller than the 64 px" in caplog.text
    )


def _facts(split: str, width: int, height: int, error: str = "") -> FileFacts:
    return FileFacts(split=split, label=0, source="", width=width, height=height, error=error)


def test_padding_warning_when_most_training_images_are_smaller_than_the_window():
    small = [_facts("train", 64, 64)] * 3 + [_facts("train", 96, 64)]
    line = padding_warning([*small, _facts("train", 256, 256), _facts("test", 300, 300)], 128)
    assert line.startswith("SMALL IMAGES: 4 of 5 sampled training images are smaller than the 128 px")
    assert "(median 64x64)" in line and "about 75 % of each window is zero padding" in line
    assert "--image_size" in line
    assert padding_warning(small[:2] + [_facts("train", 128, 200)] * 2, 128) is None  # half: no warning
    assert padding_warning([_facts("test", 32, 32)] * 4 + [_facts("train", 0, 0, "OSError")], 128) is None
