"""One worker-count policy (hf_aidetect.data.workers): cores from affinity and container quotas, loader
workers per device, torch threads beside them, and every pool that uses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_aidetect.data import workers
from hf_aidetect.data.loader import default_dataloader_settings
from hf_aidetect.inference.predict import decode_workers


def test_cores_follow_the_cpu_affinity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "_cgroup_cpu_limit", lambda: None)
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 64)
    assert workers.available_cores() == 3  # taskset / a scheduler's pinning, not the machine's 64


def test_cores_are_capped_by_a_container_quota(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    quota = tmp_path / "cpu.max"
    monkeypatch.setattr(workers, "_CGROUP_V2", quota)
    quota.write_text("250000 100000\n")  # 2.5 CPUs
    assert workers.available_cores() == 3
    quota.write_text("max 100000\n")
    assert workers.available_cores() == 16
    quota.write_text("garbage\n")
    assert workers.available_cores() == 16


@pytest.mark.parametrize(
    ("cores", "cpu_workers", "cuda_workers"), [(1, 0, 1), (2, 0, 2), (4, 1, 3), (16, 4, 8), (64, 8, 8)]
)
def test_loader_workers_per_device(monkeypatch, cores: int, cpu_workers: int, cuda_workers: int) -> None:
    monkeypatch.setattr(workers, "available_cores", lambda: cores)
    assert workers.loader_workers("cpu") == cpu_workers  # the model's threads need the cores
    assert workers.loader_workers("cuda") == cuda_workers
    cpu = default_dataloader_settings(device="cpu")
    assert cpu["dataloader_num_workers"] == cpu_workers
    assert cpu["dataloader_persistent_workers"] is (cpu_workers > 0)
    assert cpu["dataloader_pin_memory"] is False
    cuda = default_dataloader_settings(device="cuda")
    assert cuda["dataloader_num_workers"] == cuda_workers and cuda["dataloader_pin_memory"] is True


def test_inference_uses_the_same_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "available_cores", lambda: 16)
    assert decode_workers(32, 32, "cuda") == 0  # one batch: a worker would cost more than it saves
    assert decode_workers(33, 32, "cuda") == 8
    assert decode_workers(1000, 32, "cpu") == 4


def test_thread_budget_leaves_the_workers_their_cores() -> None:
    assert workers.cpu_thread_budget(2, cores=2, current=2) == 1
    assert workers.cpu_thread_budget(1, cores=16, current=8) == 8  # never more than torch already uses
    assert workers.cpu_thread_budget(0, cores=1, current=4) == 1


def test_dataloader_defaults_are_valid_training_arguments(tmp_path: Path) -> None:
    from transformers import TrainingArguments

    for device in ("cpu", "cuda"):
        args = TrainingArguments(output_dir=str(tmp_path), **default_dataloader_settings(device=device))
        assert args.dataloader_num_workers >= 0
