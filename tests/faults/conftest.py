"""Fixtures of the fault-injection tests: tiny data, training legs run (and killed) in child processes,
and folder snapshots that prove nothing already on disk changed.

Every leg is a real process running ``hf-aidetect ...``; :class:`Legs` forks them from one pre-imported
server (see :mod:`tests.faults.harness`) so a kill-and-resume test costs seconds, not imports.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.publishing.conftest import hub, make_outputs, online  # noqa: F401  (fixtures for the Hub tests)
from tests.training.conftest import write_tiny_dataset

REPO = Path(__file__).resolve().parents[2]
TINY_CNN_OVERRIDES = {"conv_channels": [4, 8], "hidden_sizes": [16], "dropout": 0.1}
STEPS, SAVE_EVERY = 12, 4  # 32 train images in batches of 4: 8 steps an epoch, so the run crosses one
# Flips, JPEG re-encoding and blur on top of the random native-resolution windows (geometry crop, the
# default); ``resize=True`` trains on random resized crops instead.
AUGMENT_ON = ["--augment", "true", "--hflip_prob", "0.5", "--jpeg_prob", "0.5", "--blur_prob", "0.3"]
AUGMENT_OFF = ["--augment", "false"]
RESIZED_CROPS = ["--geometry", "resize", "--crop_scale", "0.6", "1.0"]


@dataclass
class LegResult:
    """How a leg ended: exit status (negative: killed by that signal) and its combined output."""

    status: int
    signal: int | None
    log: str

    @property
    def killed(self) -> bool:
        return self.signal == signal.SIGKILL


class Legs:
    """Runs ``hf-aidetect`` legs one at a time in child processes; a leg may be killed from inside (a
    ``kill`` point, see the harness) or from here (``kill_when`` is polled while it runs)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.env = {**os.environ, "PYTHONPATH": str(REPO), "TOKENIZERS_PARALLELISM": "false"}
        self.count = 0
        self.server: subprocess.Popen | None = None
        if hasattr(os, "fork"):
            self.server = subprocess.Popen(
                [sys.executable, "-m", "tests.faults.harness", "serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=self.env,
                cwd=REPO,
            )

    def run(
        self,
        argv: Sequence[str],
        *,
        kill: str | None = None,
        kill_when: Callable[[], bool] | None = None,
        timeout: float = 240,
    ) -> LegResult:
        self.count += 1
        log = self.workdir / f"leg-{self.count:03d}.log"
        job = {"argv": [str(item) for item in argv], "kill": kill, "log": str(log)}
        if self.server is None:
            return self._run_subprocess(job, log, kill_when, timeout)
        assert self.server.stdin is not None and self.server.stdout is not None
        self.server.stdin.write(json.dumps(job) + "\n")
        self.server.stdin.flush()
        pid = json.loads(self.server.stdout.readline())["pid"]
        deadline = time.monotonic() + timeout
        while True:
            ready, _, _ = select.select([self.server.stdout], [], [], 0.02)
            if ready:
                answer = json.loads(self.server.stdout.readline())
                return LegResult(answer["status"], answer["signal"], log.read_text(errors="replace"))
            if kill_when is not None and kill_when():
                os.kill(pid, signal.SIGKILL)
                kill_when = None
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                pytest.fail(f"leg {argv} ran past {timeout} s; log: {log}")

    def _run_subprocess(self, job: dict, log: Path, kill_when: Callable[[], bool] | None, timeout: float):
        command = [sys.executable, "-m", "tests.faults.harness", "run"]
        command += [*(["--kill", job["kill"]] if job["kill"] else []), "--", *job["argv"]]
        with log.open("w") as handle:
            process = subprocess.Popen(
                command, stdout=handle, stderr=subprocess.STDOUT, env=self.env, cwd=REPO
            )
            deadline = time.monotonic() + timeout
            while process.poll() is None:
                if kill_when is not None and kill_when():
                    process.send_signal(signal.SIGKILL)
                    kill_when = None
                if time.monotonic() > deadline:
                    process.kill()
                    pytest.fail(f"leg {job['argv']} ran past {timeout} s; log: {log}")
                time.sleep(0.02)
        code = process.returncode
        return LegResult(code, -code if code < 0 else None, log.read_text(errors="replace"))

    def close(self) -> None:
        if self.server is not None:
            self.server.stdin.close()
            self.server.wait(timeout=30)


@pytest.fixture(scope="session")
def legs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Legs]:
    runner = Legs(tmp_path_factory.mktemp("legs"))
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def fault_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """48 px images (so random crops matter): train 16 + 16, valid 4 + 4, test 4 + 4. Read-only."""
    counts = {
        "train": {"real": 16, "fake": 16},
        "valid": {"real": 4, "fake": 4},
        "test": {"real": 4, "fake": 4},
    }
    return write_tiny_dataset(tmp_path_factory.mktemp("fault_data"), counts, size=48, seed=3)


def train_argv(
    data: Path,
    output_dir: Path,
    *,
    augment: bool = False,
    cache: bool = False,
    workers: int = 0,
    resize: bool = False,
) -> list[str]:
    """A tiny seed-CNN run: 12 steps, a checkpoint (and an evaluation) every 4, the best one kept.

    ``cache``: the decode cache with the batched stage on the training device (the other image path).
    """
    switch = "true" if cache else "false"
    return [
        "train", "--model_type", "seed_cnn", "--image_size", "32",
        "--config_overrides", json.dumps(TINY_CNN_OVERRIDES),
        "--dataset", str(data), "--output_dir", str(output_dir),
        "--max_steps", str(STEPS), "--save_strategy", "steps", "--save_steps", str(SAVE_EVERY),
        "--eval_strategy", "steps", "--eval_steps", str(SAVE_EVERY), "--logging_steps", str(SAVE_EVERY),
        "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "8", "--learning_rate", "0.01",
        "--save_total_limit", "2", "--seed", "0", "--disable_tqdm", "true", "--report_to", "none",
        "--channels_last", "false",  # no speed-switch timing: seconds per leg
        "--write_model_card", "false", "--evaluation_report", "false", "--validate_images", "false",
        "--dataloader_num_workers", str(workers),
        "--decode_cache", switch, "--device_preprocessing", switch,
        *(AUGMENT_ON if augment else AUGMENT_OFF), *(RESIZED_CROPS if resize else []),
    ]  # fmt: skip


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path if path.suffix == ".safetensors" else path / "model.safetensors"))


def differing(left: dict[str, torch.Tensor], right: dict[str, torch.Tensor]) -> list[str]:
    """Names of the tensors that are not bit-identical (all of them when the key sets differ)."""
    if left.keys() != right.keys():
        return sorted(set(left) ^ set(right)) or sorted(left)
    return [name for name in left if not torch.equal(left[name], right[name])]


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (relative paths): equal snapshots = nothing changed."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def assert_unchanged(before: dict[str, str], folder: Path) -> None:
    after = snapshot(folder)
    lost = sorted(set(before) - set(after))
    changed = sorted(name for name in set(before) & set(after) if before[name] != after[name])
    assert not lost and not changed, f"lost {lost}, changed {changed}"


def assert_one_line_error(text: str, *needles: str) -> None:
    """The failure was reported as one ``hf-aidetect CMD: error:`` line naming ``needles``, no traceback."""
    assert "Traceback" not in text, text[-3000:]
    # Progress bars end their lines with "\r", so the error may follow one on the same "\n" line.
    lines = [
        line for line in re.split(r"[\r\n]", text) if line.startswith("hf-aidetect ") and ": error: " in line
    ]
    assert len(lines) == 1, text[-3000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
