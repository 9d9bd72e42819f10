"""One worker-count policy: the cores this process may use, and how many of them decode beside a model.

Every pool hf_aidetect starts asks here: the training and inference data loaders
(:func:`loader_workers`), torch's CPU threads beside them (:func:`cpu_thread_budget`), and the CPU-bound
passes that use every core (image validation, the decode cache build, the audit's hashing:
:func:`available_cores`). Cores are those the process may run on (CPU affinity, ``taskset``, a cgroup CPU
quota of a container), not the machine's: on a shared 64-core node a job pinned to 8 cores starts 8-core
pools.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

# cgroup v2 CPU quota ("max 100000" = none, "200000 100000" = 2 CPUs); v1 splits it over two files.
_CGROUP_V2 = Path("/sys/fs/cgroup/cpu.max")
_CGROUP_V1 = (Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us"))


def _cgroup_cpu_limit() -> int | None:
    """Whole CPUs a container's CPU quota allows (rounded up), or None when there is no quota."""
    try:
        if _CGROUP_V2.is_file():
            quota, _, period = _CGROUP_V2.read_text().strip().partition(" ")
            if quota == "max":
                return None
            return max(1, math.ceil(int(quota) / int(period or 100000)))
        if _CGROUP_V1[0].is_file():
            quota, period = (int(path.read_text().strip()) for path in _CGROUP_V1)
            return max(1, math.ceil(quota / period)) if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None
    return None


def available_cores() -> int:
    """Cores this process may use: its CPU affinity, capped by a container's CPU quota; at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    return max(1, min(cores, limit) if limit else cores)


def loader_workers(
    device_type: str, *, batches: int | None = None, max_workers: int = 8, cores: int | None = None
) -> int:
    """Data-loader processes beside a model computing on ``device_type`` (``"cpu"``, ``"cuda"``, ...).

    None for a single batch (starting a process costs more than it saves). On an accelerator every core
    but one (the main process launches the model), up to ``max_workers``: a GPU outruns one decoding core
    many times over. On CPU a quarter of the cores (none up to 3): the model's own threads use every
    core, decoding costs a fraction of a step, and a worker takes a whole core while it runs (on 2 cores,
    decoding in the main process with 2 torch threads measured 1.2x one worker + 1 thread for training and
    1.4-1.9x for predict).
    """
    if batches is not None and batches <= 1:
        return 0
    cores = available_cores() if cores is None else cores
    if device_type != "cpu":
        return max(1, min(max_workers, cores - 1 if cores > 2 else cores))
    return max(0, min(max_workers, cores // 4))


def cpu_thread_budget(workers: int, cores: int | None = None, current: int | None = None) -> int:
    """torch intra-op threads for a CPU process beside ``workers`` loader processes: ``cores - workers``.

    Never more than ``current`` (torch's present setting, which already honours ``OMP_NUM_THREADS``) and
    never below 1. Oversubscribed cores make OpenMP threads spin and wait on each other (2-3x slower here).
    """
    cores = available_cores() if cores is None else cores
    if current is None:
        import torch

        current = torch.get_num_threads()
    return max(1, min(current, cores - max(0, workers)))
