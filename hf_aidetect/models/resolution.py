"""Run a checkpoint at another input side: position embeddings interpolated once, as timm does.

A ViT fine-tuned on 256 px faces should see the whole face at 256 px, not a 224 px crop or a resampled
copy. :func:`resize_model_input` rebuilds the model with ``config.image_size = size`` and copies every
weight over; a position-embedding table whose shape changed is resampled by the model's own
``interpolate_pos_encoding`` (bicubic over the patch grid, class tokens kept: transformers' code for
``interpolate_pos_encoding=True``; also the CLIP / SigLIP tables of a saved backbone detector).
Interpolating once at load time instead of at every forward gives the same embeddings at that side, and
the saved model is a plain checkpoint at the new side: ``pipeline("image-classification")`` needs no
extra flag. Convolutional models need no change at all.
"""

from __future__ import annotations

import copy
import logging

import torch
from transformers import PreTrainedModel

from hf_aidetect.errors import ConfigError

logger = logging.getLogger(__name__)


def resize_model_input(model: PreTrainedModel, size: int) -> PreTrainedModel:
    """``model`` rebuilt for ``size`` x ``size`` inputs, same weights (position embeddings resampled)."""
    old_size = getattr(model.config, "image_size", None)
    if old_size is None or int(old_size) == int(size):
        return model
    config = copy.deepcopy(model.config)
    config.image_size = int(size)
    backbone = getattr(config, "backbone_config", None)  # hf_aidetect's backbone head: the tower's own side
    if backbone is not None and hasattr(backbone, "image_size"):
        backbone.image_size = int(size)
    with torch.random.fork_rng(devices=[]):  # building the new model must not move the training RNG
        resized = type(model)(config)
    state = model.state_dict()
    target = resized.state_dict()
    for name, tensor in state.items():
        if name in target and target[name].shape != tensor.shape:
            state[name] = _resampled(model, name, target[name].shape, int(size))
    resized.load_state_dict(state, strict=True)
    resized.to(dtype=next(model.parameters()).dtype)
    logger.info("Input side %s -> %d px: position embeddings interpolated (bicubic).", old_size, size)
    return resized


def _resampled(model: PreTrainedModel, name: str, shape: torch.Size, size: int) -> torch.Tensor:
    owner_name, _, attribute = name.rpartition(".")
    if attribute == "weight" and owner_name.endswith(".position_embedding"):  # CLIP / SigLIP: nn.Embedding
        owner_name, _, attribute = owner_name.rpartition(".")
    owner = model.get_submodule(owner_name)
    if attribute not in ("position_embeddings", "position_embedding") or not hasattr(
        owner, "interpolate_pos_encoding"
    ):
        raise ConfigError(
            f"--image_size {size}: {type(model).__name__}'s weight {name} depends on the input side and "
            "transformers has no interpolation for it; fine-tune at the checkpoint's own size (drop "
            "--image_size) or pick a model with interpolatable position embeddings (ViT, DeiT, DINOv2)."
        )
    table = model.get_parameter(name)
    with torch.no_grad():  # a [1, tokens, width] probe: ViT / DINOv2 tables are [1, N, D], CLIP's [N, D]
        probe = torch.zeros(1, shape[-2], shape[-1], dtype=table.dtype)
        return owner.interpolate_pos_encoding(probe, size, size).reshape(shape).detach().clone()
