"""Device-side preprocessing and speed switches (the training device: a GPU, or the CPU itself).

With the pre-resize cache (:mod:`hf_aidetect.data.cache`) the data loader can ship raw uint8 pixels
(:func:`build_uint8_transform`: 4x fewer bytes than float32, no CPU work beyond a memory copy) and the
crop / flip / normalisation run on the GPU for the whole batch (:class:`DevicePreprocess`, one
``grid_sample``). :class:`DevicePreprocessMixin` plugs that into a ``Trainer`` subclass at the point where
inputs reach the device. The other switches already exist as arguments: ``--bf16`` and ``--torch_compile``
(``TrainingArguments``), ``--attn_implementation sdpa`` (``ModelArguments``); :func:`to_channels_last`
covers convolutional models. :func:`training_threads` sizes torch's CPU threads next to the data-loader
workers. The training runner wires them to ``--device_preprocessing``, ``--channels_last`` and
``--torch_threads``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F

from hf_aidetect.data.cache import decode_cached
from hf_aidetect.data.tensor_ops import (
    SeededPerWorker,
    blur_some,
    jpeg_recompress,
    normalize,
    random_resized_crop_flip,
)
from hf_aidetect.training.trainer import DetectionTrainer

logger = logging.getLogger(__name__)


class DevicePreprocess:
    """uint8 ``[B, 3, S, S]`` on any device -> normalised float ``[B, 3, size, size]`` on that device.

    Training: batched random resized crop + flip and Gaussian blur (the ``AugmentConfig`` crop / flip /
    blur fields); evaluation: antialiased resize when ``S != size``. JPEG re-compression needs PIL: the
    loader does it (:class:`Uint8Transform` with an ``augment``).
    """

    def __init__(self, preprocess: Any, augment: Any = None, seed: int | None = None) -> None:
        self.preprocess, self.augment = preprocess, augment
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def __call__(self, pixels: torch.Tensor, train: bool) -> torch.Tensor:
        size = int(self.preprocess.image_size)
        if not (train and self.augment is not None):
            if pixels.shape[-1] != size or pixels.shape[-2] != size:
                source = pixels if pixels.device.type == "cpu" else pixels.float()
                pixels = F.interpolate(source, size=(size, size), mode="bilinear", antialias=True)
            return normalize(pixels, self.preprocess.mean, self.preprocess.std)
        pixels = random_resized_crop_flip(
            pixels,
            size,
            scale=tuple(self.augment.crop_scale),
            ratio=tuple(getattr(self.augment, "crop_ratio", (3 / 4, 4 / 3))),
            hflip_prob=float(self.augment.hflip_prob),
            generator=self.generator,
        )
        out = normalize(pixels, self.preprocess.mean, self.preprocess.std)
        blur_prob = float(getattr(self.augment, "blur_prob", 0.0))
        if blur_prob > 0:
            # After normalising: a blur kernel sums to 1, so it commutes with the per-channel affine map,
            # and the float copy normalisation makes anyway is reused.
            draws = torch.rand(len(out), 2, generator=self.generator)
            sigma_range = getattr(self.augment, "blur_sigma", (0.1, 1.5))
            out = blur_some(out, draws[:, 0] < blur_prob, draws[:, 1], sigma_range)
        return out


class Uint8Transform(SeededPerWorker):
    """``with_transform`` callable for a cached split: uint8 pixels out, the pixel work left to the device.

    With an ``augment`` whose ``jpeg_prob`` > 0 (the train split), JPEG re-compression, which needs PIL,
    happens here in the loader, on the cached image before the device crops it.
    """

    def __init__(self, augment: Any = None, seed: int | None = None) -> None:
        self.augment, self.seed = augment, seed
        self._generator = None

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, torch.Tensor]:
        # Channels-last, as decoded: the CPU crop kernel is ~2.5x faster on it than on NCHW.
        pixels = decode_cached(batch["image"])
        if self.augment is not None:
            pixels = jpeg_recompress(pixels, self.augment, self._rng())
        out = {"pixel_values": pixels}
        if "label" in batch:
            out["labels"] = torch.as_tensor(batch["label"], dtype=torch.int64)
        return out


def build_uint8_transform(augment: Any = None, seed: int | None = None) -> Uint8Transform:
    """A picklable :class:`Uint8Transform` (works in spawned data-loader workers)."""
    return Uint8Transform(augment, seed)


class DevicePreprocessMixin:
    """``Trainer`` mixin: uint8 ``pixel_values`` are preprocessed on the device after the host-to-device copy.

    Use as ``class MyTrainer(DevicePreprocessMixin, Trainer)`` and set ``trainer.device_preprocess``.
    Float inputs pass through untouched, so the usual CPU transforms keep working.
    """

    device_preprocess: DevicePreprocess | None = None

    def _prepare_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        inputs = super()._prepare_inputs(inputs)  # type: ignore[misc]
        pixels = inputs.get("pixel_values")
        if self.device_preprocess is not None and pixels is not None and pixels.dtype == torch.uint8:
            training = bool(getattr(self, "model", None) is not None and self.model.training)  # type: ignore[attr-defined]
            inputs["pixel_values"] = self.device_preprocess(pixels, train=training)
        return inputs


class DevicePreprocessTrainer(DevicePreprocessMixin, DetectionTrainer):
    """``DetectionTrainer`` whose uint8 batches are preprocessed on the training device."""


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


def speed_switches(device: str) -> dict[str, Any]:
    """Recommended ``TrainingArguments`` / ``ModelArguments`` values for ``device`` (``"cuda"`` or ``"cpu"``).

    On CUDA: bf16 autocast where the GPU supports it, SDPA attention, ``torch.compile``; on CPU: none
    (fp32, SDPA is the default there already).
    """
    if not device.startswith("cuda") or not torch.cuda.is_available():
        return {"attn_implementation": "sdpa"}
    return {
        "bf16": torch.cuda.is_bf16_supported(),
        "tf32": True,
        "attn_implementation": "sdpa",
        "torch_compile": True,
        "dataloader_pin_memory": True,
    }


def training_thread_count(
    torch_threads: int | None, workers: int, device_type: str, cores: int | None = None
) -> tuple[int | None, str]:
    """(torch threads to set or None to leave them, why) for training next to ``workers`` loader processes.

    ``--torch_threads`` wins, then a user's ``OMP_NUM_THREADS``; on CPU with workers, each local process
    gets its share of the cores minus the workers (:func:`hf_aidetect.data.loader.cpu_thread_budget`).
    """
    from hf_aidetect.data.loader import cpu_thread_budget
    from hf_aidetect.data.validation import default_num_workers

    if torch_threads is not None:
        return torch_threads, "--torch_threads"
    if os.environ.get("OMP_NUM_THREADS"):
        return None, f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} is set"
    if device_type != "cpu" or workers <= 0:
        return None, f"training on {device_type} with {workers} data-loader workers"
    local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    share = max(1, (default_num_workers() if cores is None else cores) // local)
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
