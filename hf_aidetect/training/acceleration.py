"""Speed helpers for training: channels_last weights, native-bf16 detection, CPU thread budgets.

Which of them a run uses is measured, not guessed: :mod:`hf_aidetect.training.speed` times a few steps
per candidate. The batched pixel work lives in the data layer (:mod:`hf_aidetect.data.preprocessing`);
:func:`training_threads` sizes torch's CPU threads next to the data-loader workers.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import torch

logger = logging.getLogger(__name__)


def to_channels_last(model: torch.nn.Module) -> torch.nn.Module:
    """Channels-last weights for convolutional models (tensor cores prefer NHWC); a no-op otherwise."""
    if any(isinstance(m, torch.nn.Conv2d) for m in model.modules()):
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        logger.info("Model weights in channels_last memory format.")
    return model


def native_bf16(device_type: str) -> bool:
    """Whether ``device_type`` ("cuda" / "cpu") computes bf16 in hardware, so autocast to it pays off.

    CUDA: Ampere or newer. CPU: AVX512-BF16 or AMX (read from ``/proc/cpuinfo``; False where unknown);
    other x86 CPUs only emulate bf16 matmuls, which is slower than fp32.
    """
    if device_type.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    if device_type != "cpu":
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            flags = info.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def training_thread_count(
    torch_threads: int | None, workers: int, device_type: str, cores: int | None = None
) -> tuple[int | None, str]:
    """(torch threads to set or None to leave them, why) for training next to ``workers`` loader processes.

    ``--torch_threads`` wins, then a user's ``OMP_NUM_THREADS``; on CPU with workers, each local process
    gets its share of the cores minus the workers (:func:`hf_aidetect.data.workers.cpu_thread_budget`).
    """
    from hf_aidetect.data.workers import available_cores, cpu_thread_budget

    if torch_threads is not None:
        return torch_threads, "--torch_threads"
    if os.environ.get("OMP_NUM_THREADS"):
        return None, f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} is set"
    if device_type != "cpu" or workers <= 0:
        return None, f"training on {device_type} with {workers} data-loader workers"
    local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    share = max(1, (available_cores() if cores is None else cores) // local)
    threads = cpu_thread_budget(workers, cores=share)
    return threads, f"{share} cores - {workers} data-loader workers"


@contextlib.contextmanager
def training_threads(torch_threads: int | None, workers: int, device: torch.device | str) -> Iterator[None]:
    """Set torch's intra-op threads for training (:func:`training_thread_count`); restored on exit."""
    from hf_aidetect.data.loader import torch_threads as threads_set_to

    before = torch.get_num_threads()
    threads, why = training_thread_count(torch_threads, workers, torch.device(device).type)
    if threads is None:
        logger.info("torch threads left at %d (%s).", before, why)
    else:
        logger.info("torch threads = %d for training (%s; was %d).", threads, why, before)
    with threads_set_to(threads):
        yield
