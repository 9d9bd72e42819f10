"""Keyed augmentation randomness: every random number is a pure function of (seed, epoch, sample index).

A training sample's crop, flip, rotation, JPEG quality and blur come from :func:`sample_draws`, a
counter-based hash (SplitMix64) of its key, not from a generator's running state. So a run repeats whatever
the number of loader workers, and a run resumed mid-epoch from a checkpoint sees exactly the draws an
uninterrupted run would have seen (the sampler replays the same keys:
:class:`hf_aidetect.data.loader.KeyedSampler`).

Each sample draws :data:`DRAW_COUNT` uniforms in a fixed layout whatever is switched on, so enabling JPEG
or blur never changes the crops and flips.
"""

from __future__ import annotations

import numpy as np

CROP_X, CROP_Y, FLIP, JPEG, JPEG_QUALITY, BLUR, BLUR_SIGMA, ROT90 = range(8)
RESIZED_CROP = 8  # 10 tries x (area, log aspect, x, y) for the resize geometry's random resized crop
RESIZED_CROP_TRIES = 10
DRAW_COUNT = RESIZED_CROP + 4 * RESIZED_CROP_TRIES

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 values (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = values + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        return z ^ (z >> np.uint64(31))


def sample_draws(seed: int, epochs: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Uniform draws in [0, 1), float64 ``[len(indices), DRAW_COUNT]``, one row per (epoch, index) key."""
    epochs = np.asarray(epochs, dtype=np.int64).astype(np.uint64)
    indices = np.asarray(indices, dtype=np.int64).astype(np.uint64)
    key = _splitmix64(np.full(indices.shape, seed % 2**64, dtype=np.uint64))
    key = _splitmix64(key ^ epochs)
    key = _splitmix64(key ^ indices)
    with np.errstate(over="ignore"):
        counters = key[:, None] + np.arange(1, DRAW_COUNT + 1, dtype=np.uint64)[None, :] * _GOLDEN
    bits = _splitmix64(counters) >> np.uint64(11)
    return bits.astype(np.float64) * (1.0 / 2**53)


class DrawStream:
    """Keys for callers that pass none (``Dataset.with_transform``): (call number, position) per process.

    Repeatable for a seed and a worker, but a resumed run does not replay it: training goes through
    :class:`hf_aidetect.data.loader.PreprocessedSplit`, which passes real sample keys.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.calls = 0

    def next(self, count: int) -> np.ndarray:
        import torch

        info = torch.utils.data.get_worker_info()
        worker = info.id + 1 if info is not None else 0
        epochs = np.full(count, self.calls, dtype=np.int64)
        self.calls += 1
        return sample_draws(self.seed * 1000003 + worker, epochs, np.arange(count))


def keyed_uniform(seed: int, epochs: np.ndarray, indices: np.ndarray, salt: int = 0) -> np.ndarray:
    """One uniform in [0, 1) per (epoch, index) key, decorrelated from :func:`sample_draws` by ``salt``.

    Streams use it to order a shuffle block and to carve validation / test out of a streamed train split.
    """
    epochs = np.asarray(epochs, dtype=np.int64).astype(np.uint64)
    indices = np.asarray(indices, dtype=np.int64).astype(np.uint64)
    key = _splitmix64(np.full(indices.shape, (seed ^ (salt * 0x632BE59BD9B4E019)) % 2**64, dtype=np.uint64))
    key = _splitmix64(_splitmix64(key ^ epochs) ^ indices)
    return (key >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)
