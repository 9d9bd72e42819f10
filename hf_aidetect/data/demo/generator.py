"""The demo data's "fake" source: a small up-convolution decoder that re-synthesises images.

It is trained for a few seconds to rebuild crops from 4x-downsampled copies, then applied to held-out
crops. Its outputs carry the fingerprints detectors learn on real generators: transposed-convolution
(checkerboard) upsampling artifacts and missing high frequencies. Everything runs seeded and with
deterministic algorithms on CPU, so the same seed gives the same pixels.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

logger = logging.getLogger(__name__)


class UpconvGenerator(nn.Module):
    """Conv encoder at low resolution, then two stride-2 ``ConvTranspose2d`` (kernel 3: uneven overlap)."""

    def __init__(self, width: int = 32, factor: int = 4) -> None:
        super().__init__()
        if factor not in (2, 4):
            raise ValueError(f"factor must be 2 or 4, got {factor}")
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU()]
        for _ in range(factor.bit_length() - 1):
            # kernel 3 / stride 2 overlaps unevenly: the classic source of checkerboard artifacts.
            layers += [nn.ConvTranspose2d(width, width, 3, stride=2, padding=1, output_padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(width, 3, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.factor = factor

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        """Map ``[B, 3, h, w]`` in [-0.5, 0.5] to ``[B, 3, h*factor, w*factor]``.

        Every output pixel comes from the decoder (no interpolation shortcut), so its fingerprint is
        everywhere, flat regions included. Each image's per-channel mean is pinned to its input's: colour
        and brightness then carry no label.
        """
        out = self.body(low)
        return out - out.mean(dim=(2, 3), keepdim=True) + low.mean(dim=(2, 3), keepdim=True)


@contextlib.contextmanager
def deterministic_torch(seed: int, num_threads: int) -> Iterator[None]:
    """Seed torch and force deterministic kernels and a fixed thread count; restore everything afterwards."""
    saved_threads = torch.get_num_threads()
    saved_deterministic = torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.set_num_threads(num_threads)
        torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(saved_deterministic)
            torch.set_num_threads(saved_threads)


def _to_tensor(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels).permute(0, 3, 1, 2).float().div(255.0).sub(0.5)


def _to_pixels(tensor: torch.Tensor) -> np.ndarray:
    scaled = tensor.add(0.5).mul(255.0).round().clamp(0, 255)
    return scaled.to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def downsample(images: torch.Tensor, factor: int) -> torch.Tensor:
    """Area (box) downsampling: what the generator sees instead of the full-resolution crop."""
    return F.avg_pool2d(images, factor)


def train_generator(
    crops: np.ndarray,
    *,
    steps: int,
    factor: int = 4,
    width: int = 32,
    batch_size: int = 32,
    patch_size: int = 32,
    lr: float = 2e-3,
) -> UpconvGenerator:
    """Fit the decoder to rebuild ``crops`` (uint8 ``[N, H, W, 3]``) from their downsampled copies (L1 loss).

    It is fully convolutional, so it trains on random ``patch_size`` windows (4x cheaper than whole 64 px
    crops) and still applies to whole images. Call inside :func:`deterministic_torch` for reproducibility.
    """
    model = UpconvGenerator(width=width, factor=factor)
    targets = _to_tensor(crops)
    inputs = downsample(targets, factor)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    low_patch = max(1, min(patch_size, targets.shape[-1]) // factor)
    low_side = inputs.shape[-1]
    model.train()
    for step in range(steps):
        index = torch.randint(len(targets), (min(batch_size, len(targets)),))
        top, left = torch.randint(low_side - low_patch + 1, (2,)).tolist()
        low = inputs[index, :, top : top + low_patch, left : left + low_patch]
        rows = slice(top * factor, (top + low_patch) * factor)
        high = targets[index, :, rows, left * factor : (left + low_patch) * factor]
        loss = F.l1_loss(model(low), high)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 50 == 0 or step == steps - 1:
            logger.debug("generator step %d/%d: L1 %.4f", step + 1, steps, loss.item())
    model.eval()
    return model


@torch.no_grad()
def synthesize(model: UpconvGenerator, crops: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Re-synthesise each crop from its downsampled copy; returns uint8 pixels of the same shape."""
    outputs = []
    for start in range(0, len(crops), batch_size):
        low = downsample(_to_tensor(crops[start : start + batch_size]), model.factor)
        outputs.append(_to_pixels(model(low)))
    if not outputs:
        return np.empty_like(crops)
    return np.concatenate(outputs)
