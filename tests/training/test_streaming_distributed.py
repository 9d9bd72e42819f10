"""Two CPU processes (torchrun, gloo) stream one packed dataset: disjoint shards, one writer, exact resume.

The uninterrupted run is shared by the tests of this module. The kill test SIGKILLs both ranks at step 5
(after the checkpoint at step 3, inside a shuffle block), resumes with ``--resume_from_checkpoint last``
and compares every rank's logged sample ids, step by step, with the uninterrupted run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from hf_aidetect.training.stream_state import read_sample_log
from tests.training.conftest import FAST, REPO, TINY_CNN

MAX_STEPS = 9  # 80 train rows in 2 shards: each rank streams 40 rows = 5 steps of 8 per pass
STREAMED = {
    **TINY_CNN,
    **FAST,
    "streaming": True,
    "log_sample_ids": True,
    "shuffle_buffer": 16,
    "max_steps": MAX_STEPS,
    "save_strategy": "steps",
    "save_steps": 3,
    "eval_strategy": "steps",
    "eval_steps": 3,
    "load_best_model_at_end": False,
    "augment": True,
    "hflip_prob": 0.5,
    "jpeg_prob": 0.5,
}
# Runs the recipe with a callback that SIGKILLs the process at a step: a real kill, at a known point.
KILLER = """
import os, signal, sys
from transformers import TrainerCallback
from hf_aidetect.training import runner
from hf_aidetect.training.config import parse_recipe_args

class Kill(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == int(os.environ["KILL_AT_STEP"]):
            os.kill(os.getpid(), signal.SIGKILL)

build = runner.build_trainer
def build_and_arm(*args, **kwargs):
    setup = build(*args, **kwargs)
    setup.trainer.add_callback(Kill())
    return setup
runner.build_trainer = build_and_arm
runner.train(*parse_recipe_args(sys.argv[1:]))
"""


def _torchrun(script: Path, recipe: Path, data: Path, out: Path, *extra: str, **env: str):
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script),
        "--config", str(recipe), "--dataset", str(data), "--output_dir", str(out),
        "--log_level_replica", "info", *extra,
    ]  # fmt: skip
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), **env}
    return subprocess.run(
        command, capture_output=True, text=True, env=environment, timeout=300, cwd=out.parent
    )


def _logs(out: Path) -> dict[int, list[tuple[int, list[int]]]]:
    return {rank: read_sample_log(out / "sample_ids" / f"rank-{rank}.jsonl") for rank in (0, 1)}


@pytest.fixture(scope="module")
def streamed_run(packed_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    work = tmp_path_factory.mktemp("streamed_ddp")
    recipe = work / "stream.yaml"
    recipe.write_text(yaml.safe_dump(STREAMED), encoding="utf-8")
    out = work / "full"
    done = _torchrun(REPO / "recipes" / "finetune_cnn.py", recipe, packed_data, out)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    return recipe, out, log


def test_two_ranks_stream_disjoint_shards_and_write_once(streamed_run: tuple[Path, Path, str]) -> None:
    _, out, log = streamed_run
    logs = _logs(out)
    for rank in (0, 1):
        assert [step for step, _ in logs[rank]] == list(range(1, MAX_STEPS + 1))
        assert all(len(ids) == FAST["per_device_train_batch_size"] for _, ids in logs[rank])
    batch = FAST["per_device_train_batch_size"]
    for (step, ids0), (_, ids1) in zip(logs[0], logs[1]):  # one optimizer step: 2 x 8 different images
        assert len(set(ids0) | set(ids1)) == 2 * batch, step
    first_pass = {rank: {i for _, ids in logs[rank][:5] for i in ids} for rank in (0, 1)}
    assert len(first_pass[0]) == len(first_pass[1]) == 40  # each rank: its shard, each row once per pass
    assert not first_pass[0] & first_pass[1]  # disjoint shards
    assert first_pass[0] | first_pass[1] == set(range(80))  # together: the whole train split
    results = json.loads((out / "all_results.json").read_text())
    assert results["train_world_size"] == 2
    assert results["train_global_batch_size"] == 2 * batch
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == MAX_STEPS
    assert log.count("Training finished in") == 1, log[-3000:]  # one writer
    for rank in (0, 1):
        assert (out / f"checkpoint-{MAX_STEPS}" / f"stream_state-rank-{rank}.json").is_file()


@pytest.mark.slow
def test_killed_two_rank_run_resumes_with_the_same_samples(
    packed_data: Path, streamed_run: tuple[Path, Path, str]
) -> None:
    recipe, full, _ = streamed_run
    out = full.parent / "killed"
    killer = full.parent / "killer.py"
    killer.write_text(KILLER, encoding="utf-8")
    killed = _torchrun(killer, recipe, packed_data, out, KILL_AT_STEP="5")
    assert killed.returncode != 0 and (out / "checkpoint-3").is_dir() and not (out / "checkpoint-6").exists()
    assert max(step for step, _ in _logs(out)[0]) >= 5  # it ran past the checkpoint before it died

    resumed = _torchrun(
        REPO / "recipes" / "finetune_cnn.py", recipe, packed_data, out, "--resume_from_checkpoint", "last"
    )
    assert resumed.returncode == 0, (resumed.stdout + resumed.stderr)[-3000:]
    assert _logs(out) == _logs(full)
    weights = [load_file(str(folder / "model.safetensors")) for folder in (full, out)]
    assert all(torch.equal(weights[0][name], weights[1][name]) for name in weights[0])
