"""Generator families of the quality suite: small nets that re-synthesise real crops, one fingerprint each.

Four families rebuild a crop from a ``factor``-times box-downsampled copy through a different upsampling
stage (transposed convolution, nearest + conv, bilinear + conv, pixel shuffle); the fifth (a denoiser)
removes Gaussian noise from a noised copy at full resolution, so its fingerprint has no upsampling stage.
Every family is fully convolutional, trains for seconds on CPU on random patches and pins each output's
per-channel mean to its input's, so colour and brightness carry no label. Call :func:`train_family` and
:func:`synthesize` inside ``hf_aidetect.data.demo.generator.deterministic_torch`` for identical bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

logger = logging.getLogger(__name__)


def _to_tensor(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels).permute(0, 3, 1, 2).float().div(255.0).sub(0.5)


def _to_pixels(tensor: torch.Tensor) -> np.ndarray:
    scaled = tensor.add(0.5).mul(255.0).round().clamp(0, 255)
    return scaled.to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def _stages(factor: int) -> int:
    if factor not in (2, 4):
        raise ValueError(f"upsampling factor must be 2 or 4, got {factor}")
    return factor.bit_length() - 1


class _Upsampler(nn.Module):
    """Conv encoder at low resolution, ``log2(factor)`` upsampling stages, a conv to RGB; mean pinned."""

    def __init__(self, stage: Callable[[int], list[nn.Module]], width: int, factor: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU()]
        for _ in range(_stages(factor)):
            layers += [*stage(width), nn.ReLU()]
        layers.append(nn.Conv2d(width, 3, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.factor = factor

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        out = self.body(low)
        return out - out.mean(dim=(2, 3), keepdim=True) + low.mean(dim=(2, 3), keepdim=True)


def transposed_conv(width: int, factor: int) -> nn.Module:
    """Stride-2 ``ConvTranspose2d``, kernel 4 (even overlap; the demo's kernel 3 overlaps unevenly)."""
    return _Upsampler(lambda w: [nn.ConvTranspose2d(w, w, 4, stride=2, padding=1)], width, factor)


def nearest_conv(width: int, factor: int) -> nn.Module:
    """Nearest-neighbour 2x upsampling, then a 3x3 conv (the "resize-convolution" fix for checkerboards)."""
    return _Upsampler(lambda w: [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(w, w, 3, padding=1)],
                      width, factor)  # fmt: skip


def bilinear_conv(width: int, factor: int) -> nn.Module:
    """Bilinear 2x upsampling, then a 3x3 conv (the smoothest upsampler: its trace is mostly spectral)."""
    upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
    return _Upsampler(lambda w: [upsample, nn.Conv2d(w, w, 3, padding=1)], width, factor)


def pixel_shuffle(width: int, factor: int) -> nn.Module:
    """Sub-pixel convolution: a 3x3 conv to 4x the channels, then ``PixelShuffle(2)`` (ESPCN)."""
    return _Upsampler(lambda w: [nn.Conv2d(w, 4 * w, 3, padding=1), nn.PixelShuffle(2)], width, factor)


class Denoiser(nn.Module):
    """DnCNN-style residual denoiser at full resolution: no upsampling stage anywhere."""

    def __init__(self, width: int, depth: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(width, 3, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.factor = 1

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        out = noisy - self.body(noisy)
        return out - out.mean(dim=(2, 3), keepdim=True) + noisy.mean(dim=(2, 3), keepdim=True)


@dataclass(frozen=True)
class FamilySpec:
    """How one family's generator is built and fed (``factor`` 1 = full-resolution input)."""

    build: Callable[[int, int], nn.Module]
    width: int = 24
    factor: int = 2
    noise_sigma: float = 0.0  # on the [0, 255] scale; only the denoiser uses it

    def make(self) -> nn.Module:
        return self.build(self.width, self.factor)

    def degrade(self, clean: torch.Tensor) -> torch.Tensor:
        """What the generator sees: a box-downsampled copy, or (factor 1) a noised copy."""
        if self.factor > 1:
            return F.avg_pool2d(clean, self.factor)
        return clean + torch.randn_like(clean) * (self.noise_sigma / 255.0)


FAMILIES: dict[str, FamilySpec] = {
    "transposed_conv": FamilySpec(transposed_conv, width=24, factor=2),
    "nearest_conv": FamilySpec(nearest_conv, width=24, factor=2),
    "bilinear_conv": FamilySpec(bilinear_conv, width=24, factor=2),
    "pixel_shuffle": FamilySpec(pixel_shuffle, width=24, factor=2),
    "denoiser": FamilySpec(lambda width, _factor: Denoiser(width), width=24, factor=1, noise_sigma=40.0),
    # 4x up-sampling (two stages): only in a check set (specs.CHECK_SETS), never used to choose a default.
    "nearest_conv_x4": FamilySpec(nearest_conv, width=24, factor=4),
}


def family(name: str) -> FamilySpec:
    """The :class:`FamilySpec` called ``name``; an unknown name is an error that lists the known ones."""
    if name not in FAMILIES:
        raise KeyError(f"unknown generator family {name!r}; choose from {', '.join(FAMILIES)}")
    return FAMILIES[name]


def train_family(
    name: str, crops: np.ndarray, *, steps: int, batch_size: int = 32, patch_size: int = 32, lr: float = 2e-3
) -> nn.Module:
    """Fit family ``name`` to rebuild ``crops`` (uint8 ``[N, H, W, 3]``) from degraded copies (L1 loss).

    Trains on random ``patch_size`` windows (the nets are fully convolutional), so the cost does not grow
    with the image size.
    """
    spec = family(name)
    model = spec.make()
    targets = _to_tensor(crops)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    patch = min(patch_size, targets.shape[-1]) // max(spec.factor, 1) * max(spec.factor, 1)
    model.train()
    for step in range(steps):
        index = torch.randint(len(targets), (min(batch_size, len(targets)),))
        top, left = (torch.randint(targets.shape[-1] - patch + 1, (2,)) // spec.factor * spec.factor).tolist()
        high = targets[index, :, top : top + patch, left : left + patch]
        loss = F.l1_loss(model(spec.degrade(high)), high)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == steps - 1:
            logger.debug("%s step %d/%d: L1 %.4f", name, step + 1, steps, loss.item())
    model.eval()
    return model


@torch.no_grad()
def synthesize(name: str, model: nn.Module, crops: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Re-synthesise each crop from its degraded copy; uint8 pixels of the same shape."""
    spec = family(name)
    outputs = [
        _to_pixels(model(spec.degrade(_to_tensor(crops[start : start + batch_size]))))
        for start in range(0, len(crops), batch_size)
    ]
    return np.concatenate(outputs) if outputs else np.empty_like(crops)
