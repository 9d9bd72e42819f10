"""Heatmaps of what drives a detector's decision, at the image's own size, normalised to [0, 1].

* ``attention`` — gradient-weighted attention rollout (Chefer et al., 2021) for ViT-like models: per layer,
  the positive part of attention x its gradient (head mean) is accumulated as ``R += A @ R``; the CLS
  token's row over the patch tokens is the map. Falls back to plain attention rollout (Abnar & Zuidema,
  2020) when the gradient-weighted map is flat. Attentions are taken with ``attn_implementation="eager"``
  (SDPA returns none), switched on only for the call.
* ``gradcam`` — Grad-CAM (Selvaraju et al., 2017) on the last convolutional feature map (the seed CNN's
  block activations, else any ``nn.Conv2d``) whose grid is at least 6x6: at small inputs the last one
  can be 2x2, too coarse to show where the evidence is.
* ``saliency`` — absolute input gradient (max over channels), for anything else.

The explained class is the decision at the threshold (fake iff P(fake) >= threshold).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from hf_aidetect.data.preprocessing import InputSpec
from hf_aidetect.errors import ConfigError
from hf_aidetect.inference.loading import Detector

logger = logging.getLogger(__name__)

METHODS = ("auto", "attention", "gradcam", "saliency")
METHOD_NAMES = {
    "attention": "gradient-weighted attention rollout",
    "gradcam": "Grad-CAM",
    "saliency": "input-gradient saliency",
}


@dataclass
class Explanation:
    """``heatmap``: float32 [height, width] of the image, in [0, 1]; ``target``: the class explained;
    ``region``: (left, top, right, bottom) of the image area the model saw (the eval crop)."""

    heatmap: np.ndarray
    fake_score: float
    target: int
    method: str
    region: tuple[int, int, int, int] | None = None


def normalise(heatmap: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] (min -> 0, max -> 1); a flat map becomes all zeros."""
    heatmap = np.nan_to_num(np.asarray(heatmap, dtype=np.float32))
    low, high = float(heatmap.min()), float(heatmap.max())
    if high - low <= 1e-12:
        return np.zeros_like(heatmap)
    return (heatmap - low) / (high - low)


def _is_flat(heatmap: torch.Tensor) -> bool:
    return float(heatmap.max() - heatmap.min()) <= 1e-8 * max(1.0, float(heatmap.abs().max()))


def model_window(size: tuple[int, int], spec: InputSpec | None = None) -> tuple[int, int, int, int]:
    """(left, top, right, bottom), in the image's pixels, of the window the evaluation transform shows
    the model. A native-resolution window can extend past a small image (that part is padding)."""
    from hf_aidetect.data.preprocessing.geometry import evaluation_region

    if spec is None:  # without the model's geometry a pixel-exact window is moot: the whole image
        return 0, 0, size[0], size[1]
    box = evaluation_region(size, spec.size, spec.geometry, spec.crop_pct, spec.resize_mode)
    left, top = round(box[0]), round(box[1])
    return left, top, max(left + 1, round(box[2])), max(top + 1, round(box[3]))


def model_region(size: tuple[int, int], spec: InputSpec | None = None) -> tuple[int, int, int, int]:
    """The part of the image inside :func:`model_window` (what the model saw of the image itself)."""
    left, top, right, bottom = model_window(size, spec)
    left, top, right, bottom = max(0, left), max(0, top), min(size[0], right), min(size[1], bottom)
    return left, top, max(left + 1, right), max(top + 1, bottom)


def _upsample(grid: torch.Tensor, size: tuple[int, int], window: tuple[int, int, int, int]) -> np.ndarray:
    """Resize a [h, w] map (bilinear) onto ``window`` of an image of ``size``, normalised to [0, 1]; the
    margins the model never saw stay 0, and the part of the window outside the image is dropped."""
    width, height = size
    left, top, right, bottom = window
    square = F.interpolate(
        grid[None, None].float(), size=(bottom - top, right - left), mode="bilinear", align_corners=False
    )
    values = normalise(square[0, 0].detach().cpu().numpy())
    heatmap = np.zeros((height, width), dtype=np.float32)
    x0, y0, x1, y1 = max(0, left), max(0, top), min(width, right), min(height, bottom)
    heatmap[y0:y1, x0:x1] = values[y0 - top : y1 - top, x0 - left : x1 - left]
    return heatmap


def default_method(model: torch.nn.Module) -> str:
    """``attention`` for patch-token transformers, ``gradcam`` for CNNs, else ``saliency``."""
    config = getattr(model, "config", None)
    if getattr(config, "patch_size", None) and getattr(config, "num_attention_heads", None):
        return "attention"
    if _gradcam_layers(model):
        return "gradcam"
    return "saliency"


def check_method(model: torch.nn.Module, method: str) -> None:
    """A :class:`ConfigError` (one line, what to use instead) when ``method`` cannot explain ``model``."""
    name = type(model).__name__
    if method == "attention" and default_method(model) != "attention":
        instead = "gradcam" if _gradcam_layers(model) else "saliency"
        raise ConfigError(
            f"--method attention needs a transformer with attention heads over patches (a ViT); {name} has "
            f"none: use --method {instead} (or auto)"
        )
    if method == "gradcam" and not _gradcam_layers(model):
        raise ConfigError(
            f"--method gradcam needs convolution layers; {name} has none: use --method saliency"
        )


MIN_GRADCAM_SIDE = 6  # a coarser map (e.g. 2x2) says little about *where*; use an earlier layer then


def _gradcam_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """Candidate conv feature maps in forward order: the seed CNN's block activations (ReLU after each
    conv, before pooling: a finer grid), else every ``nn.Conv2d``."""
    blocks = getattr(model, "blocks", None)
    if isinstance(blocks, torch.nn.ModuleList) and all(hasattr(block, "activation") for block in blocks):
        return [block.activation for block in blocks]
    return [module for module in model.modules() if isinstance(module, torch.nn.Conv2d)]


def _pick_feature_map(outputs: list[torch.Tensor]) -> torch.Tensor:
    """The deepest 4-D feature map at least ``MIN_GRADCAM_SIDE`` on each side, else the largest one."""
    maps = [output for output in outputs if isinstance(output, torch.Tensor) and output.dim() == 4]
    for output in reversed(maps):
        if min(output.shape[-2:]) >= MIN_GRADCAM_SIDE:
            return output
    return max(maps, key=lambda output: output.shape[-1] * output.shape[-2])


@contextlib.contextmanager
def eager_attention(model: torch.nn.Module) -> Iterator[None]:
    """Temporarily switch a transformers model to eager attention so it can return attention weights."""
    config = getattr(model, "config", None)
    current = getattr(config, "_attn_implementation", None)
    switch = current not in (None, "eager") and hasattr(model, "set_attn_implementation")
    if switch:
        model.set_attn_implementation("eager")
    try:
        yield
    finally:
        if switch:
            model.set_attn_implementation(current)


def attention_map(model: torch.nn.Module, pixel_values: torch.Tensor, target: int) -> torch.Tensor:
    """Gradient-weighted attention rollout on the patch grid (plain rollout when that is flat)."""
    with eager_attention(model), torch.enable_grad():
        outputs = model(pixel_values=pixel_values, output_attentions=True)
        attentions = [a for a in (outputs.attentions or ()) if a is not None]
        if not attentions:
            raise ValueError(
                f"{type(model).__name__} returned no attentions; use --method gradcam or saliency"
            )
        gradients = torch.autograd.grad(outputs.logits[0, target], attentions, allow_unused=True)
    tokens = attentions[0].shape[-1]
    identity = torch.eye(tokens, device=attentions[0].device)
    weighted, plain = identity.clone(), identity.clone()
    for attention, gradient in zip(attentions, gradients):
        attention = attention[0].detach()
        grad = torch.zeros_like(attention) if gradient is None else gradient[0]
        cam = (grad * attention).clamp(min=0).mean(dim=0)
        weighted = weighted + cam @ weighted
        mixed = 0.5 * attention.mean(dim=0) + 0.5 * identity
        plain = (mixed / mixed.sum(dim=-1, keepdim=True)) @ plain
    height, width = pixel_values.shape[-2:]
    patch = model.config.patch_size
    patch_h, patch_w = (patch, patch) if isinstance(patch, int) else patch
    grid = (height // patch_h, width // patch_w)
    prefix = tokens - grid[0] * grid[1]  # CLS (+ distillation / register tokens)
    for rollout in (weighted, plain):
        heatmap = rollout[0, prefix:].reshape(grid)
        if not _is_flat(heatmap):
            return heatmap
    return heatmap


def gradcam_map(model: torch.nn.Module, pixel_values: torch.Tensor, target: int) -> torch.Tensor:
    """Grad-CAM on the last conv feature map with a usable grid (see :data:`MIN_GRADCAM_SIDE`);
    ``|cam|`` when ReLU leaves nothing (e.g. untrained models)."""
    layers = _gradcam_layers(model)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no Conv2d layer for Grad-CAM; use --method saliency")
    captured: list[torch.Tensor] = []
    handles = [layer.register_forward_hook(lambda _m, _i, out: captured.append(out)) for layer in layers]
    try:
        with torch.enable_grad():
            logits = model(pixel_values=pixel_values).logits
            feature_map = _pick_feature_map(captured)
            (gradient,) = torch.autograd.grad(logits[0, target], feature_map)
    finally:
        for handle in handles:
            handle.remove()
    activation = feature_map[0].detach()
    weights = gradient[0].mean(dim=(1, 2), keepdim=True)
    cam = (weights * activation).sum(dim=0)
    positive = cam.clamp(min=0)
    return positive if not _is_flat(positive) else cam.abs()


def saliency_map(model: torch.nn.Module, pixel_values: torch.Tensor, target: int) -> torch.Tensor:
    """Absolute gradient of the target logit w.r.t. the input pixels, max over channels."""
    with torch.enable_grad():
        logits = model(pixel_values=pixel_values).logits
        (gradient,) = torch.autograd.grad(logits[0, target], pixel_values)
    return gradient[0].abs().amax(dim=0)


_MAPS = {"attention": attention_map, "gradcam": gradcam_map, "saliency": saliency_map}


def explain_image(
    detector: Detector, image: Image.Image, *, method: str = "auto", threshold: float = 0.5
) -> Explanation:
    """Heatmap (the image's size, [0, 1]) of what drives the decision on ``image`` (an RGB PIL image)."""
    if method not in METHODS:
        raise ConfigError(f"--method {method}: choose one of {', '.join(METHODS)}")
    model = detector.model
    chosen = default_method(model) if method == "auto" else method
    check_method(model, chosen)
    pixel_values = detector.transform({"image": [image]})["pixel_values"][:1]
    dtype = next(model.parameters()).dtype
    pixel_values = pixel_values.to(detector.device, dtype=dtype).requires_grad_(True)
    fake_score = float(detector.fake_scores(pixel_values.detach())[0])
    real_index = 1 - detector.fake_index if model.config.num_labels == 2 else 0
    target = detector.fake_index if fake_score >= threshold else real_index
    grid = _MAPS[chosen](model, pixel_values, target)
    spec = detector.transform.spec
    heatmap = _upsample(grid, image.size, model_window(image.size, spec))
    return Explanation(heatmap, fake_score, target, chosen, model_region(image.size, spec))


def overlay_heatmap(
    image: Image.Image,
    heatmap: np.ndarray,
    *,
    alpha: float = 0.45,
    colormap: str = "jet",
    region: tuple[int, int, int, int] | None = None,
) -> Image.Image:
    """Blend ``heatmap`` (colour-mapped with matplotlib) over ``image``; same size as ``image``.

    With ``region`` (the part the model saw) only that part is coloured; the rest is greyed out, so
    margins cropped away by preprocessing do not read as "no evidence".
    """
    from matplotlib import colormaps

    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    if heatmap.shape != rgb.shape[:2]:
        raise ValueError(f"heatmap shape {heatmap.shape} does not match the image size {image.size[::-1]}")
    colours = colormaps[colormap](normalise(heatmap))[..., :3] * 255.0
    blended = (1.0 - alpha) * rgb + alpha * colours
    if region is not None:
        left, top, right, bottom = region
        outside = np.ones(rgb.shape[:2], dtype=bool)
        outside[top:bottom, left:right] = False
        grey = rgb.mean(axis=-1, keepdims=True) * 0.35 + 128.0 * 0.65  # washed-out grey: not seen
        blended = np.where(outside[..., None], grey, blended)
    return Image.fromarray(np.clip(blended, 0, 255).astype(np.uint8))
