"""DataLoader defaults that keep the accelerator fed (used when the user did not set them); batch fetching.

A ``datasets`` transform (``with_transform``) already returns a whole stacked batch, but a plain
``DataLoader`` asks ``datasets`` to split it into examples and its collator stacks them again: one extra
copy of every batch (~10 % of the decode time at 224 px). :class:`BatchFetch` hands the transformed batch
through as it is (the loader's ``__getitems__`` protocol) and :func:`collate_batches` accepts it, so
samplers, ``accelerate``'s sharding and resumption keep working unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch

from hf_aidetect.data.validation import default_num_workers


def cpu_loader_workers(cores: int, max_workers: int = 8) -> int:
    """Loader processes beside a model that computes on this CPU: a quarter of the cores (0 up to 3).

    The model's own threads use every core; decoding costs a fraction of a training or inference step, and
    a worker process takes a whole core from the model while it runs. On 2 cores, decoding in the main
    process with 2 torch threads measured 1.2x (training) and 1.4-1.9x (predict) one worker + 1 thread.
    """
    return max(0, min(max_workers, cores // 4))


def default_dataloader_settings(device: str | None = None, max_workers: int = 8) -> dict[str, Any]:
    """Keyword arguments for ``TrainingArguments`` / ``DataLoader`` fitted to this machine.

    Workers on an accelerator: all cores up to ``max_workers``, leaving one core to the main process when
    there are more than two (it launches the model); on CPU: :func:`cpu_loader_workers` (the model's math
    needs the cores). Persistent workers avoid re-forking every epoch; ``prefetch_factor`` only applies
    with workers; pinned memory only helps host-to-CUDA copies. Keys use ``TrainingArguments`` names.
    """
    cores = default_num_workers()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        workers = min(cores, max_workers)
        if cores > 2:
            workers = min(workers, cores - 1)
    else:
        workers = cpu_loader_workers(cores, max_workers)
    settings: dict[str, Any] = {
        "dataloader_num_workers": workers,
        "dataloader_persistent_workers": workers > 0,
        "dataloader_pin_memory": device.startswith("cuda"),
    }
    if workers > 0:
        settings["dataloader_prefetch_factor"] = 4 if device.startswith("cuda") else 2
    return settings


def as_dataloader_kwargs(settings: dict[str, Any]) -> dict[str, Any]:
    """The same settings with ``torch.utils.data.DataLoader`` keyword names."""
    return {key.removeprefix("dataloader_"): value for key, value in settings.items()}


def cpu_thread_budget(workers: int, cores: int | None = None, current: int | None = None) -> int:
    """torch intra-op threads for a CPU process beside ``workers`` loader processes: ``cores - workers``.

    Never more than ``current`` (torch's present setting, which already honours ``OMP_NUM_THREADS``) and
    never below 1. Oversubscribed cores make OpenMP threads spin and wait on each other (2-3x slower here).
    """
    cores = default_num_workers() if cores is None else cores
    current = torch.get_num_threads() if current is None else current
    return max(1, min(current, cores - max(0, workers)))


@contextlib.contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run with ``count`` torch intra-op threads (``None``: leave them); restores the old setting on exit."""
    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cpu_threads_beside(workers: int, device: torch.device | str) -> contextlib.AbstractContextManager[None]:
    """On CPU, leave the loader workers their cores (:func:`cpu_thread_budget`); restored on exit.

    No-op on an accelerator or without workers.
    """
    on_cpu_with_workers = torch.device(device).type == "cpu" and workers > 0
    return torch_threads(cpu_thread_budget(workers) if on_cpu_with_workers else None)


class BatchFetch(torch.utils.data.Dataset):
    """A transformed ``datasets.Dataset`` whose batches reach the collator as one stacked dict.

    ``DataLoader`` calls ``__getitems__(indices)`` for a whole batch: this returns ``dataset[indices]``
    (the transform's output) instead of a list of per-example dicts.
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index]

    def __getitems__(self, indices: Sequence[int]) -> Mapping[str, Any]:
        return self.dataset[list(indices)]

    def __getattr__(self, name: str) -> Any:  # column_names, features, ... of the wrapped dataset
        if name == "dataset":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.dataset, name)


def batch_fetch(dataset: Any) -> Any:
    """Wrap ``dataset`` in :class:`BatchFetch` when it is a ``datasets.Dataset`` with a batch transform."""
    import datasets

    if isinstance(dataset, datasets.Dataset) and dataset.format.get("type") == "custom":
        return BatchFetch(dataset)
    return dataset


def collate_batches(data: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Collator for :class:`BatchFetch` batches (a dict, tensors as they are) and for lists of examples."""
    from transformers import default_data_collator

    if isinstance(data, Mapping):
        return {
            key: value if isinstance(value, torch.Tensor) else torch.as_tensor(value)
            for key, value in data.items()
        }
    return default_data_collator(list(data))
