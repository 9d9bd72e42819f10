"""The training pipeline's switches: CPU thread budget, decode cache, device preprocessing, speed choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from hf_aidetect.data.loader import KeyedSampler, PreprocessedSplit
from hf_aidetect.errors import ConfigError
from hf_aidetect.training.acceleration import training_thread_count, training_threads
from hf_aidetect.training.runner import build_trainer, train
from tests.training.conftest import TINY_CNN, recipe_args

OUTPUTS = ("config.json", "model.safetensors", "preprocessor_config.json", "all_results.json")


@pytest.fixture
def no_omp(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 64)  # torch's own default is never the limit
    return monkeypatch


@pytest.mark.parametrize(
    ("torch_threads", "workers", "device", "cores", "expected"),
    [
        (None, 2, "cpu", 2, 1),  # 2 cores, 2 workers: one thread, never zero
        (None, 2, "cpu", 8, 6),
        (None, 0, "cpu", 8, None),  # no workers: nothing to make room for
        (None, 2, "cuda", 8, None),  # the GPU does the math
        (3, 2, "cpu", 8, 3),  # --torch_threads wins
    ],
)
def test_training_thread_count(
    no_omp: pytest.MonkeyPatch,
    torch_threads: int | None,
    workers: int,
    device: str,
    cores: int,
    expected: int | None,
) -> None:
    no_omp.setattr("hf_aidetect.data.workers.available_cores", lambda: cores)
    assert training_thread_count(torch_threads, workers, device)[0] == expected


def test_thread_budget_respects_omp_and_local_processes(no_omp: pytest.MonkeyPatch) -> None:
    no_omp.setenv("LOCAL_WORLD_SIZE", "2")
    assert training_thread_count(None, 1, "cpu", cores=8)[0] == 3  # 8 cores / 2 processes - 1 worker
    no_omp.setenv("OMP_NUM_THREADS", "5")
    threads, why = training_thread_count(None, 1, "cpu", cores=8)
    assert threads is None and "OMP_NUM_THREADS" in why


def test_training_threads_sets_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    with training_threads(1, 2, "cpu"):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_predict_shares_the_thread_budget() -> None:
    from hf_aidetect.data.loader import cpu_threads_beside
    from hf_aidetect.data.workers import cpu_thread_budget
    from hf_aidetect.inference import predict

    assert predict.cpu_threads_beside is cpu_threads_beside
    assert cpu_thread_budget(2, cores=2, current=2) == 1
    assert cpu_thread_budget(1, cores=16, current=8) == 8  # never more than torch already uses


@pytest.mark.parametrize(
    ("overrides", "flags"),
    [
        ({"torch_threads": 0}, r"--torch_threads"),
    ],
)
def test_invalid_fast_path_combinations(tiny_data: Path, tmp_path: Path, overrides: dict, flags: str) -> None:
    with pytest.raises(ConfigError, match=flags):
        recipe_args(tiny_data, tmp_path / "out", TINY_CNN, **overrides)


def test_decode_cache_train_writes_outputs_and_report(tiny_data: Path, tmp_path: Path) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = recipe_args(
        tiny_data,
        out,
        TINY_CNN,
        decode_cache=True,
        decode_cache_dir=str(cache),
        augment=True,
        num_train_epochs=1,
        evaluation_report=True,  # reads the original files, not the cached pixels
        robustness_samples=0,
    )
    results = train(*args)
    assert all((out / name).is_file() for name in OUTPUTS)
    saved = json.loads((out / "all_results.json").read_text())
    assert saved["test_num_samples"] == 16 and 0.0 <= saved["test_accuracy"] <= 1.0
    assert {"test_roc_auc", "validation_accuracy", "fake_threshold"} <= saved.keys()
    assert results["test_accuracy"] == saved["test_accuracy"]
    assert (out / "evaluation" / "metrics.json").is_file()
    assert any(cache.iterdir())
    processor = json.loads((out / "preprocessor_config.json").read_text())
    assert processor["do_resize"] is False and processor["crop_size"]["height"] == 32  # native crops


def test_device_preprocessing_trains_on_cpu(tiny_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    switches = {"decode_cache": True, "decode_cache_dir": str(tmp_path / "cache"), "augment": True}
    switches.update(device_preprocessing=True, num_train_epochs=1)
    switches.update(jpeg_prob=0.5, blur_prob=0.5)  # JPEG in the loader, blur on the device
    args = recipe_args(tiny_data, out, TINY_CNN, **switches)
    trainer = build_trainer(*args).trainer
    assert trainer.device_stage is not None
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["pixel_values"].dtype == torch.uint8  # the loader ships raw pixels, with their draws
    assert batch["augment_draws"].shape[0] == batch["pixel_values"].shape[0]
    prepared = trainer._prepare_inputs(batch)
    assert prepared["pixel_values"].dtype == torch.float32 and prepared["pixel_values"].shape[-1] == 32
    assert "augment_draws" not in prepared
    results = train(*args)
    assert 0.0 <= results["test_accuracy"] <= 1.0
    assert all((out / name).is_file() for name in OUTPUTS)


def test_device_and_loader_placements_train_the_same_model(tiny_data: Path, tmp_path: Path) -> None:
    common = {"augment": True, "jpeg_prob": 0.5, "blur_prob": 0.5, "num_train_epochs": 2}
    loader = train(*recipe_args(tiny_data, tmp_path / "a", TINY_CNN, **common))
    device = train(*recipe_args(tiny_data, tmp_path / "b", TINY_CNN, device_preprocessing=True, **common))
    assert loader["test_accuracy"] == device["test_accuracy"]
    from safetensors.torch import load_file

    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_trainer_loaders_fetch_whole_batches_with_keys(tiny_data: Path, tmp_path: Path) -> None:
    trainer = build_trainer(*recipe_args(tiny_data, tmp_path / "out", TINY_CNN, num_train_epochs=1)).trainer
    assert isinstance(trainer.train_dataset, PreprocessedSplit)
    assert isinstance(trainer._get_train_sampler(), KeyedSampler)
    for loader in (trainer.get_train_dataloader(), trainer.get_eval_dataloader()):
        batch = next(iter(loader))
        assert batch["pixel_values"].dtype == torch.float32 and batch["labels"].dtype == torch.int64


def test_decode_cache_on_cpu_drops_default_workers_only(tiny_data: Path, tmp_path: Path) -> None:
    switches = {"decode_cache": True, "decode_cache_dir": str(tmp_path / "cache"), "num_train_epochs": 1}
    _, defaulted, _ = recipe_args(tiny_data, tmp_path / "a", TINY_CNN, **switches)
    defaulted.dataloader_num_workers, defaulted.dataloader_workers_defaulted = 2, True  # as on a 2-core box
    defaulted.load_in_main_process("decode cache on the CPU")
    assert defaulted.dataloader_num_workers == 0 and not defaulted.dataloader_persistent_workers
    _, explicit, _ = recipe_args(tiny_data, tmp_path / "b", TINY_CNN, dataloader_num_workers=1, **switches)
    explicit.load_in_main_process("decode cache on the CPU")
    assert explicit.dataloader_num_workers == 1  # the user's choice stands


def test_native_bf16_reads_the_cpu_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import builtins

    from hf_aidetect.training.acceleration import native_bf16

    real_open = builtins.open
    for flags, expected in (
        ("fpu avx512f avx512_bf16", True),
        ("fpu amx_bf16", True),
        ("fpu avx512f", False),
    ):
        cpuinfo = tmp_path / "cpuinfo"
        cpuinfo.write_text(f"flags : {flags}\n")
        monkeypatch.setattr(
            builtins,
            "open",
            lambda path, *a, _c=cpuinfo, **k: real_open(_c if path == "/proc/cpuinfo" else path, *a, **k),
        )
        assert native_bf16("cpu") is expected
    assert native_bf16("mps") is False


@pytest.mark.parametrize(
    ("given", "device", "expected"),
    [(None, "cuda", True), (None, "cpu", False), (False, "cuda", False), (True, "cpu", True)],
)
def test_device_preprocessing_defaults_on_for_gpus_only(given, device, expected) -> None:
    from types import SimpleNamespace

    from hf_aidetect.data.preprocessing import PipelineConfig
    from hf_aidetect.training.arguments import ScriptArguments
    from hf_aidetect.training.runner import resolve_device_preprocessing

    script_args = ScriptArguments()
    script_args.pipeline = PipelineConfig(device_preprocessing=given)
    training_args = SimpleNamespace(device=torch.device(device))
    assert resolve_device_preprocessing(script_args, training_args) is expected
    assert script_args.pipeline.device_preprocessing is expected
