"""Case d's stock side: it starts from the shipped recipe's own model, as case f's does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmarks import case_end_to_end
from hf_aidetect.models.seed_cnn import SeedCNNForImageClassification
from hf_aidetect.models.stem_init import find_stem


def test_stock_run_starts_from_the_recipes_stem_and_dropout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    commands: list[list[str]] = []

    def fake_timed(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
        commands.append(cmd)
        out = Path(next(arg.split("=", 1)[1] for arg in cmd if arg.startswith("--output_dir=")))
        out.mkdir(parents=True)
        (out / "stock_results.json").write_text(json.dumps({"test_accuracy": 0.5}))
        return 1.0, 1.0

    monkeypatch.setattr(case_end_to_end, "_timed", fake_timed)
    recipe = case_end_to_end.Recipe("cnn", case_end_to_end.RECIPE, ["--num_train_epochs", "3"])
    wall, _, results = case_end_to_end._run_stock(recipe, tmp_path / "data", tmp_path)
    assert (wall, results["test_accuracy"]) == (1.0, 0.5)
    assert "--epochs=3.0" in commands[0] and "--learning_rate=0.001" in commands[0]
    init = SeedCNNForImageClassification.from_pretrained(tmp_path / "stock_init")
    assert init.config.dropout == 0.25 and init.config.image_size == 128
    stem = find_stem(init).weight
    assert stem.sum(dim=(-2, -1)).abs().max().item() < 1e-5  # the recipe's high-pass stem, not a default init
    assert not torch.equal(stem, torch.zeros_like(stem))
