"""Speed switches decided by measurement: a few timed training steps per candidate, cached per machine.

``channels_last`` and bf16 autocast are faster on some devices, sizes and models and slower on others
(channels_last at 128 px on a 2-core CPU measured 1.5x slower than NCHW, while GPUs prefer it). So
``--channels_last auto`` / ``--auto_bf16`` time ``steps`` forward + backward passes of a copy of the real
model on a random batch of the run's real size, for every candidate (interleaved rounds), and keep the
fastest -- the plain setting unless another is at least 5 % faster, so noise does not flip it. The result is
cached in ``HF_HOME/hf_aidetect/speed_switches.json`` keyed by machine, torch version, model, input side,
batch and threads, so later runs on the same setup skip the timing.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import logging
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from hf_aidetect.files.layout import SPEED_SWITCHES

logger = logging.getLogger(__name__)

MARGIN = 0.05  # a switch is turned on only when it is at least this much faster


def _name(channels_last: bool, bf16: bool) -> str:
    return f"channels_last={channels_last},bf16={bf16}"


@dataclass
class SpeedChoice:
    """The switches to use, and the seconds per step each measured candidate took."""

    channels_last: bool = False
    bf16: bool = False
    seconds_per_step: dict[str, float] = field(default_factory=dict)
    source: str = "fixed"  # "measured", "cached" or "fixed" (nothing to choose)


def has_convolutions(model: nn.Module) -> bool:
    return any(isinstance(module, nn.Conv2d) for module in model.modules())


def _cache_path() -> Path:
    from huggingface_hub.constants import HF_HOME

    return Path(HF_HOME) / "hf_aidetect" / SPEED_SWITCHES


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown-cpu"


def _machine() -> str:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no-gpu"
    return f"{platform.machine()}|{_cpu_name()}|{gpu}|torch {torch.__version__}"


def _cache_key(model: nn.Module, device: torch.device, size: int, batch: int, candidates: list) -> str:
    config = getattr(model, "config", None)
    shape = json.dumps(config.to_diff_dict() if config is not None else {}, sort_keys=True, default=str)
    raw = f"{_machine()}|{device.type}|{torch.get_num_threads()}|{shape}|{size}|{batch}|{candidates}"
    return hashlib.sha1(raw.encode()).hexdigest()[:20]


def _read_cache() -> dict[str, dict]:
    try:
        return json.loads(_cache_path().read_text())
    except (OSError, ValueError):
        return {}


def _write_cache(key: str, choice: SpeedChoice) -> None:
    path = _cache_path()
    entries = _read_cache()
    entries[key] = asdict(choice)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(entries, indent=1, sort_keys=True))
        temporary.replace(path)
    except OSError as error:  # a read-only HF_HOME costs a re-measurement next time, nothing else
        logger.debug("Cannot cache the speed switches in %s: %s", path, error)


def _time_candidate(
    model: nn.Module, device: torch.device, size: int, batch: int, channels_last: bool, bf16: bool, steps: int
) -> float:
    """Median seconds per forward + backward step of ``model`` (a throwaway copy) for one candidate."""
    trial = copy.deepcopy(model).to(device).train()
    if channels_last:
        trial = trial.to(memory_format=torch.channels_last)
    pixels = torch.randn(batch, 3, size, size, device=device)
    if channels_last:
        pixels = pixels.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 2, (batch,), device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
    times = []
    for step in range(steps + 1):  # the first step warms up kernels and allocators
        start = time.perf_counter()
        with autocast:
            loss = trial(pixel_values=pixels, labels=labels).loss
        loss.backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if step:
            times.append(time.perf_counter() - start)
        trial.zero_grad(set_to_none=True)
    return sorted(times)[len(times) // 2]


def choose_speed_switches(
    model: nn.Module,
    device: torch.device,
    size: int,
    batch: int,
    *,
    channels_last: str = "auto",
    bf16_candidate: bool = False,
    steps: int = 3,
    rounds: int = 2,
) -> SpeedChoice:
    """The fastest of the candidate (channels_last, bf16) settings for this model, size and device."""
    layouts = (
        [False, True] if channels_last == "auto" and has_convolutions(model) else [channels_last == "true"]
    )
    precisions = [False, True] if bf16_candidate else [False]
    candidates = list(itertools.product(layouts, precisions))
    if len(candidates) == 1:
        return SpeedChoice(channels_last=layouts[0], bf16=precisions[0])
    key = _cache_key(model, device, size, batch, candidates)
    cached = _read_cache().get(key)
    if cached is not None:
        return SpeedChoice(**{**cached, "source": "cached"})
    timings: dict[str, float] = {}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        for _ in range(rounds):  # interleaved: a busy moment of a shared machine hits every candidate
            for layout, precision in candidates:
                name = _name(layout, precision)
                seconds = _time_candidate(model, device, size, batch, layout, precision, steps)
                timings[name] = min(timings.get(name, seconds), seconds)
    # The plain setting (the first candidate) stays unless another is clearly faster: noise must not flip it.
    best = min(candidates, key=lambda c: timings[_name(*c)])
    if timings[_name(*best)] > (1 - MARGIN) * timings[_name(*candidates[0])]:
        best = candidates[0]
    choice = SpeedChoice(channels_last=best[0], bf16=best[1], seconds_per_step=timings, source="measured")
    _write_cache(key, choice)
    return choice


def save_choice(choice: SpeedChoice, path: Path) -> None:
    """Record the run's switches (a resumed run must compute exactly as the interrupted one did)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.tmp")
    temporary.write_text(json.dumps(asdict(choice), indent=1, sort_keys=True) + "\n")
    temporary.replace(path)


def load_choice(path: Path) -> SpeedChoice | None:
    """The switches recorded by :func:`save_choice`, or None."""
    try:
        return SpeedChoice(**{**json.loads(path.read_text()), "source": "resumed run"})
    except (OSError, ValueError, TypeError):
        return None


def describe(choice: SpeedChoice, size: int, batch: int) -> str:
    """One log line: what was chosen and why."""
    chosen = f"channels_last {'on' if choice.channels_last else 'off'}, bf16 {'on' if choice.bf16 else 'off'}"
    if not choice.seconds_per_step:
        return f"Speed switches: {chosen}."
    timings = ", ".join(
        f"{name} {seconds * 1000:.0f} ms" for name, seconds in choice.seconds_per_step.items()
    )
    return f"Speed switches ({choice.source} at {size} px, batch {batch}): {chosen} ({timings} per step)."
