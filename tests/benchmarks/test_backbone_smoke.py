"""The backbone smoke rows run a suite-style folder (fakes by generator) through every tuning mode."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.backbone_smoke import LABEL, MODES, main


def _suite_folder(root: Path) -> Path:
    """``{train,valid,test}/{real,fake/<generator>}``: two generators with different artefacts."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:32, 0:32] / 32
    for split, n in (("train", 8), ("valid", 4), ("test", 4)):
        for label in ("real", "fake/checker", "fake/stripes"):
            folder = root / split / label
            folder.mkdir(parents=True)
            for index in range(n):
                image = np.stack([x, y, (x + y) / 2], axis=-1) * rng.uniform(80, 200, 3)
                if label == "fake/checker":
                    image += 40.0 * ((np.indices((32, 32)).sum(axis=0) % 2)[..., None] - 0.5)
                elif label == "fake/stripes":
                    image += 40.0 * ((np.arange(32) % 2)[None, :, None] - 0.5)
                Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(folder / f"{index}.png")
    return root


@pytest.mark.slow
def test_every_tuning_mode_runs_the_suite_and_is_labelled_smoke(tmp_path: Path) -> None:
    data = _suite_folder(tmp_path / "suite")
    out = tmp_path / "smoke"
    assert main([str(data), "--out", str(out), "--families", "dinov3_vit"]) == 0
    result = json.loads((out / "backbone_smoke.json").read_text())
    rows = result["rows"]
    assert result["label"] == LABEL and [row["mode"] for row in rows] == list(MODES)
    for row in rows:
        assert row["rows"] == LABEL and row["family"] == "dinov3_vit"
        assert 0.0 <= row["test AP"] <= 1.0 and "checker" in row["per generator AP"]
        assert "stripes" in row["per generator AP"] and "(none)" not in row["per generator AP"]
    table = (out / "backbone_smoke.md").read_text()
    assert "random" in table and table.count("| suite | dinov3_vit |") == len(MODES)
