"""``--stem_init highpass``: start a fresh model's stem (the first convolution over the pixels) as high-pass
filters.

Why: trained from scratch on a few hundred images, a ViT's patch projection starts as random filters that pass
mostly image content, while the generator traces a detector learns are pixel-level residuals a few grey
levels high. The small ViT of ``demo_vit`` stayed at chance on every quality-suite set that way (test ROC-AUC
0.49-0.57). Starting each stem filter as a high-pass filter, strong enough that its tokens are not drowned
by the position embeddings, lets it take off (0.985-1.00 test accuracy on the five suite sets, benchmarks
case f; ``benchmarks/analysis.md``). The seed CNN learns without it, but ``demo_cnn`` uses it too: it lifted
the suite's denoiser, the family with no up-sampling trace, and its AP when held out of training. The idea
is the forensic one of SRM-initialised or constrained first layers (Bayar and Stamm 2016), applied to the
weights only: the architecture, the saved weights and ``from_pretrained`` stay stock transformers, and
training may move the filters anywhere.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F
from transformers import PreTrainedModel

from hf_aidetect.errors import ConfigError

# Output scale of a high-pass stem filter: weight std = STEM_GAIN / sqrt(fan_in), about 7x transformers' ViT
# init (initializer_range 0.02) at patch 8. Gains 1.1, 2.2 and 4.4 all took off on nearest128; 2 sits inside.
STEM_GAIN = 2.0


def find_stem(model: nn.Module) -> nn.Conv2d:
    """The first ``Conv2d`` over the image's channels (a ViT's patch projection, a CNN's first layer)."""
    channels = int(getattr(getattr(model, "config", None), "num_channels", 3) or 3)
    for module in model.modules():
        if isinstance(module, nn.Conv2d) and module.in_channels == channels and module.groups == 1:
            return module
    raise ConfigError(
        f"--stem_init highpass needs a model whose first layer is a convolution over the {channels} image "
        f"channels; {type(model).__name__} has none. Drop --stem_init."
    )


@torch.no_grad()
def highpass_filters(weight: torch.Tensor, gain: float = STEM_GAIN) -> torch.Tensor:
    """``weight`` (``[out, in, kh, kw]``) minus its 2x2 local mean, zero-mean per input channel (a flat colour
    gives exactly 0), then rescaled to std ``gain / sqrt(in * kh * kw)``."""
    if weight.shape[-1] < 2 or weight.shape[-2] < 2:
        raise ConfigError(
            f"--stem_init highpass needs a stem kernel of at least 2x2, got {tuple(weight.shape[-2:])}."
        )
    local_mean = F.avg_pool2d(F.pad(weight, (0, 1, 0, 1), mode="replicate"), 2, stride=1)
    filters = weight - local_mean
    filters = filters - filters.mean(dim=(-2, -1), keepdim=True)
    fan_in = math.prod(weight.shape[1:])
    return filters * (gain / math.sqrt(fan_in) / filters.std().clamp_min(1e-12))


def apply_stem_init(model: PreTrainedModel, stem_init: str) -> PreTrainedModel:
    """Re-initialise ``model``'s stem in place as ``stem_init`` says (``default`` keeps the model's own)."""
    if stem_init == "default":
        return model
    stem = find_stem(model)
    with torch.no_grad():
        stem.weight.copy_(highpass_filters(stem.weight))
        if stem.bias is not None:
            stem.bias.zero_()
    return model
