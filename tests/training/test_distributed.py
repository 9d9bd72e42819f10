"""Two CPU processes (torchrun, gloo) train one model: both ranks step, global batch doubles, one writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.training.conftest import FAST, REPO, TINY_VIT


def test_two_process_run_trains_on_both_ranks(tiny_data: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "tiny.yaml"
    report = {"evaluation_report": True, "robustness_samples": 0}  # the report runs on the main process only
    recipe.write_text(yaml.safe_dump({**TINY_VIT, **FAST, **report, "num_train_epochs": 1}), encoding="utf-8")
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        str(REPO / "recipes" / "finetune_vit.py"), "--config", str(recipe), "--dataset", str(tiny_data),
        "--output_dir", str(out), "--log_level_replica", "info",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]

    results = json.loads((out / "all_results.json").read_text())
    state = json.loads((out / "trainer_state.json").read_text())
    assert results["train_world_size"] == 2
    assert results["train_global_batch_size"] == 2 * FAST["per_device_train_batch_size"]
    assert state["global_step"] == 32 // (2 * FAST["per_device_train_batch_size"])  # half the 1-process steps
    assert results["test_num_samples"] == 16 and results["validation_num_samples"] == 12
    assert log.count("Restoring the best checkpoint") == 2, log[-3000:]  # every rank finished training
    assert log.count("Training finished in") == 1, log[-3000:]  # only the main process wrote and said so
    assert log.count("Evaluation report written") == 1, log[-3000:]
    assert "fake_threshold" in results and (out / "evaluation" / "roc_curve.png").is_file()
    assert not (out / "evaluation" / "robustness.md").exists()  # robustness_samples: 0
