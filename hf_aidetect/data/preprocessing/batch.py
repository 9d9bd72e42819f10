"""The batched stage: flips, 90° rotations, Gaussian blur and normalisation of a uint8 batch, on any device.

:class:`BatchAugment` is the pipeline's only batched augmentation. It runs at the end of the loader's
transform (``pipeline.device_preprocessing`` off) or on the training device after the host-to-device
copy (on: :class:`hf_aidetect.training.trainer.DetectionTrainer` calls it), with the same per-sample draws
either way, so the two placements give the same pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from hf_aidetect.data.loader import torch_threads
from hf_aidetect.data.preprocessing.config import AugmentConfig, InputSpec
from hf_aidetect.data.preprocessing.draws import BLUR, BLUR_SIGMA, FLIP, ROT90


def normalize(
    pixels: torch.Tensor, mean: Sequence[float], std: Sequence[float], channels_last: bool = False
) -> torch.Tensor:
    """uint8 or 0..255 float ``[B, 3, H, W]`` -> float32 ``(x / 255 - mean) / std`` on the same device.

    A channels-last batch (as the loader builds them) is normalised as ``[B*H, W*3]`` rows against
    per-channel factors tiled ``W`` times: both in-place passes run over long contiguous rows (2.3x faster
    on CPU than a ``[1, 3, 1, 1]`` broadcast). The result is channels-last when ``channels_last``, else
    contiguous NCHW: the memory format the model's convolutions were measured fastest with.
    """
    scale = torch.tensor([1.0 / (255.0 * s) for s in std], device=pixels.device)
    shift = torch.tensor([-m / s for m, s in zip(mean, std)], device=pixels.device)
    nhwc = pixels.dim() == 4 and pixels.is_contiguous(memory_format=torch.channels_last)
    if nhwc and not pixels.is_contiguous():
        b, c, h, w = pixels.shape
        rows = pixels.permute(0, 2, 3, 1).reshape(b * h, w * c).to(torch.float32, copy=True)
        rows.mul_(scale.repeat(w)).add_(shift.repeat(w))
        out = rows.view(b, h, w, c).permute(0, 3, 1, 2)
        return out if channels_last else out.contiguous()
    out = pixels.contiguous().to(torch.float32, copy=True)
    out.mul_(scale.view(1, 3, 1, 1)).add_(shift.view(1, 3, 1, 1))
    return out.contiguous(memory_format=torch.channels_last) if channels_last else out


def gaussian_blur(pixels: torch.Tensor, sigmas: torch.Tensor, max_sigma: float | None = None) -> torch.Tensor:
    """Separable Gaussian blur of float ``[B, C, H, W]``, each image with its own sigma (reflect padding).

    Each pass is a weighted sum of shifted views (``2 * radius + 1`` fused multiply-adds over the batch,
    radius ``ceil(3 * max_sigma)``; smaller sigmas get near-zero taps), on any device. ``max_sigma`` (the
    configured upper bound) fixes the radius, so an image's result never depends on the rest of its
    batch. A grouped convolution does the same work, but its CPU kernel is erratic (3x slower at times).
    """
    b, _, h, w = pixels.shape
    sigmas = sigmas.to(pixels.device, torch.float32).clamp_min(1e-3)
    reach = float(sigmas.max()) if max_sigma is None else max(float(max_sigma), 1e-3)
    radius = max(1, min(math.ceil(3 * reach), h - 1, w - 1))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32, device=pixels.device)
    taps = torch.exp(-(x[None] ** 2) / (2 * sigmas[:, None] ** 2))
    taps = (taps / taps.sum(dim=1, keepdim=True)).view(b, 1, 1, -1)
    padded = F.pad(pixels, (radius, radius, 0, 0), mode="reflect")
    rows = padded[..., 0:w] * taps[..., 0:1]
    for i in range(1, 2 * radius + 1):
        rows.add_(padded[..., i : i + w] * taps[..., i : i + 1])
    padded = F.pad(rows, (0, 0, radius, radius), mode="reflect")
    out = padded[..., 0:h, :] * taps[..., 0:1]
    for i in range(1, 2 * radius + 1):
        out.add_(padded[..., i : i + h, :] * taps[..., i : i + 1])
    return out


class BatchAugment:
    """uint8 ``[B, 3, S, S]`` (or ``[B, k, 3, S, S]`` crops) -> normalised float, flipped / blurred per draws.

    ``draws`` (float ``[B, DRAW_COUNT]``, from :func:`~hf_aidetect.data.preprocessing.draws.sample_draws`)
    marks a training batch; without them (evaluation) the batch is only normalised. A blur kernel sums to
    1, so blurring after normalising equals blurring before, and reuses the float copy.
    """

    def __init__(self, spec: InputSpec, augment: AugmentConfig | None = None, channels_last: bool = False):
        self.spec = spec
        self.augment = augment if augment is not None and augment.enabled else None
        self.channels_last = channels_last

    def __call__(self, pixels: torch.Tensor, draws: torch.Tensor | None = None) -> torch.Tensor:
        # One CPU thread: these passes are memory-bound, and on a loaded machine each multi-threaded pass
        # waited for all of torch's threads to be scheduled (0.10 s -> 0.014 s per 16 x 128 px batch).
        with torch_threads(1 if pixels.device.type == "cpu" else None):
            return self._apply(pixels, draws)

    def _apply(self, pixels: torch.Tensor, draws: torch.Tensor | None) -> torch.Tensor:
        if pixels.dim() == 5:  # multi-crop evaluation: [B, k, 3, S, S]
            b, k = pixels.shape[:2]
            flat = self._apply(pixels.reshape(b * k, *pixels.shape[2:]), None)
            return flat.reshape(b, k, *flat.shape[1:])
        augment = self.augment if draws is not None else None
        if augment is not None and (augment.hflip_prob > 0 or augment.rot90_prob > 0):
            pixels = pixels.clone()  # one copy for the flips and turns, which write in place
            if augment.hflip_prob > 0:
                flip = torch.nonzero(draws[:, FLIP] < augment.hflip_prob).flatten().to(pixels.device)
                if len(flip):
                    pixels[flip] = pixels[flip].flip(-1)
            if augment.rot90_prob > 0:
                # Image by image on CPU: 3.7x faster there than one gather-scatter of the batch.
                per_image = pixels.device.type == "cpu"
                _rotate(pixels, draws[:, ROT90], augment.rot90_prob, per_image=per_image)
        out = normalize(pixels, self.spec.mean, self.spec.std, self.channels_last)
        if augment is not None and augment.blur_prob > 0:
            chosen = torch.nonzero(draws[:, BLUR] < augment.blur_prob).flatten().to(out.device)
            if len(chosen):
                low, high = augment.blur_sigma
                sigmas = low + (high - low) * draws[:, BLUR_SIGMA].to(out.device, torch.float32)[chosen]
                out = out.index_copy(0, chosen, gaussian_blur(out.index_select(0, chosen), sigmas, high))
        return out


def _rotate(pixels: torch.Tensor, draws: torch.Tensor, probability: float, *, per_image: bool) -> None:
    """Turn, in place, the images whose draw is below ``probability`` by 90, 180 or 270 degrees (square)."""
    # One uniform decides both: below `probability` it is rescaled to pick k = 1, 2 or 3 evenly.
    turns = torch.where(draws < probability, 1 + (draws / probability * 3).floor().clamp_max(2), 0)
    turns = turns.to(torch.int64)
    if per_image:
        for index in torch.nonzero(turns).flatten().tolist():
            pixels[index] = torch.rot90(pixels[index], int(turns[index]), dims=(-2, -1))
        return
    for k in (1, 2, 3):
        chosen = torch.nonzero(turns == k).flatten().to(pixels.device)
        if len(chosen):
            pixels[chosen] = torch.rot90(pixels[chosen], k, dims=(-2, -1))
