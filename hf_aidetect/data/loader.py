"""Data loading: the keyed sampler and split wrapper that make augmentation resumable, and loader defaults.

:class:`PreprocessedSplit` hands each batch to its transform whole (the loader's ``__getitems__``
protocol: no split into examples and re-stack) together with the samples' keys from
:class:`KeyedSampler`, and :func:`collate_batches` passes the stacked batch through. Samplers,
``accelerate``'s sharding and resumption work unchanged. The loader defaults and torch's threads beside
the workers follow :mod:`hf_aidetect.data.workers`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from hf_aidetect.data.workers import cpu_thread_budget, loader_workers


def default_dataloader_settings(device: str | None = None, max_workers: int = 8) -> dict[str, Any]:
    """``TrainingArguments`` data-loader settings fitted to this machine (``dataloader_*`` keys).

    Workers: :func:`~hf_aidetect.data.workers.loader_workers`. Persistent workers avoid re-forking every
    epoch; ``prefetch_factor`` only applies with workers; pinned memory only helps host-to-CUDA copies.
    """
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    workers = loader_workers(torch.device(device).type, max_workers=max_workers)
    settings: dict[str, Any] = {
        "dataloader_num_workers": workers,
        "dataloader_persistent_workers": workers > 0,
        "dataloader_pin_memory": device.startswith("cuda"),
    }
    if workers > 0:
        settings["dataloader_prefetch_factor"] = 4 if device.startswith("cuda") else 2
    return settings


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


class KeyedSampler(torch.utils.data.Sampler[int]):
    """A seeded shuffle per epoch that yields sample *keys*: ``epoch * len + index``.

    The order is ``randperm(len, seed + epoch)``, so every process of a distributed run draws the same
    permutation (accelerate then shards it) and a resumed run replays it. The epoch rides along in each
    key, so loader workers -- which never see ``set_epoch`` -- still know it: :class:`PreprocessedSplit`
    turns a key back into (epoch, index) and the augmentation draws depend on nothing else.
    """

    def __init__(self, length: int, seed: int = 0, shuffle: bool = True) -> None:
        self.length, self.seed, self.shuffle = int(length), int(seed), shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            order = torch.randperm(
                self.length, generator=torch.Generator().manual_seed(self.seed + self.epoch)
            )
        else:
            order = torch.arange(self.length)
        yield from (order + self.epoch * self.length).tolist()


class PreprocessedSplit(torch.utils.data.Dataset):
    """A split's rows with their loader-stage transform; batches reach the collator already stacked.

    ``DataLoader`` calls ``__getitems__(keys)`` for a whole batch: the rows are read in one ``datasets``
    call and transformed together, with each sample's (epoch, index) key (see :class:`KeyedSampler`;
    plain indices mean epoch 0). ``rows`` keeps its image column undecoded: the transform decodes.
    """

    def __init__(self, rows: Any, transform: Callable[..., dict[str, Any]]) -> None:
        self.rows = rows
        self.transform = transform

    def __len__(self) -> int:
        return len(self.rows)

    def __getitems__(self, keys: Sequence[int]) -> dict[str, Any]:
        keys = np.asarray(keys, dtype=np.int64)
        epochs, indices = np.divmod(keys, len(self.rows))
        return self.transform(self.rows[indices.tolist()], (epochs, indices))

    def __getitem__(self, key: int) -> dict[str, Any]:
        return {name: value[0] for name, value in self.__getitems__([key]).items()}

    def with_transform(self, transform: Callable[..., dict[str, Any]]) -> PreprocessedSplit:
        """The same rows with another transform (e.g. a train split evaluated without augmentation)."""
        return PreprocessedSplit(self.rows, transform)


def collate_batches(data: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Collator for :class:`BatchFetch` batches (a dict, tensors as they are) and for lists of examples."""
    from transformers import default_data_collator

    if isinstance(data, Mapping):
        return {
            key: value if isinstance(value, torch.Tensor) else torch.as_tensor(value)
            for key, value in data.items()
        }
    return default_data_collator(list(data))
