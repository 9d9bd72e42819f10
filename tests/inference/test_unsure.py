"""``predict --unsure``: the band around the threshold and decisions that flip under degradations."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from hf_aidetect.cli import main
from hf_aidetect.errors import ConfigError
from hf_aidetect.inference.loading import load_detector
from hf_aidetect.inference.predict import predict_files
from hf_aidetect.inference.robustness import PERTURBATIONS
from hf_aidetect.inference.unsure import mark_unsure, unsure_band


def test_band_is_an_odds_factor_around_the_threshold():
    assert unsure_band(0.5) == pytest.approx((0.25, 0.75))
    low, high = unsure_band(0.9, odds=3)
    assert low == pytest.approx(0.75) and high == pytest.approx(27 / 28)  # odds 9 / 3 and 9 * 3
    assert unsure_band(0.5, odds=1) == pytest.approx((0.5, 0.5))  # odds 1: no band
    with pytest.raises(ConfigError, match="--unsure-odds"):
        unsure_band(0.5, odds=0.5)


def _scores(detector, paths, perturbation=None):
    if perturbation is None:
        return [row.fake_score for row in predict_files(detector, paths, progress=False)]
    images = [
        detector.transform({"image": [PERTURBATIONS[perturbation](Image.open(p).convert("RGB"))]})
        for p in paths
    ]
    return [float(detector.fake_scores(batch["pixel_values"])[0]) for batch in images]


def test_near_threshold_and_flipping_images_are_unsure(tiny_vit_dir, good_images):
    detector = load_detector(tiny_vit_dir)
    paths = [str(path) for path in good_images]
    clean = _scores(detector, paths)
    jpeg = _scores(detector, paths, "jpeg_q75")
    # A threshold between an image's clean and JPEG scores: that image flips, and only degradations say so.
    index = int(np.argmax(np.abs(np.array(clean) - np.array(jpeg))))
    threshold = (clean[index] + jpeg[index]) / 2
    rows = list(predict_files(detector, paths, threshold=threshold, progress=False))
    marked = mark_unsure(detector, rows, threshold=threshold, odds=1.0)
    assert marked[index].label == "unsure" and "flips under jpeg_q75" in marked[index].unsure_reason
    assert marked[index].decision == rows[index].label
    for row, original in zip(marked, rows):
        if row.label != "unsure":
            assert row.label == original.label and row.unsure_reason == ""
    # A wide band makes every image unsure; a threshold far from every score makes none unsure.
    wide = mark_unsure(detector, rows, threshold=threshold, odds=1e6)
    assert all(row.label == "unsure" and "near the threshold" in row.unsure_reason for row in wide)
    far = mark_unsure(
        detector, list(predict_files(detector, paths, threshold=1e-6, progress=False)), threshold=1e-6
    )
    assert [row.label for row in far] == ["fake"] * len(paths)


def test_cli_unsure_columns_and_counts(tiny_vit_dir, good_images, tmp_path, capsys):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"")
    paths = [str(p) for p in good_images] + [str(bad)]
    assert (
        main(["predict", str(tiny_vit_dir), *paths, "--format", "jsonl", "--unsure", "--unsure-odds", "1e6"])
        == 1
    )
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [row["label"] for row in rows[:-1]] == ["unsure"] * len(good_images)
    assert all(row["decision"] in ("real", "fake") for row in rows[:-1])
    assert rows[-1]["label"] is None and rows[-1]["error"]
    assert f"{len(good_images)} unsure, 1 error(s)" in captured.err
    assert main(["-q", "predict", str(tiny_vit_dir), *paths[:2], "--format", "csv", "--unsure"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header == "path,label,fake_score,error,decision,unsure_reason"
