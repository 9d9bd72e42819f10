"""hf_aidetect's real / fake head on a pre-trained vision backbone, as a transformers ``PreTrainedModel``.

The backbone is any of CLIP's / SigLIP's / SigLIP 2's vision towers, DINOv2 (with or without registers),
DINOv3 ViT or ConvNeXt V2, built by ``AutoModel`` from ``config.backbone_config``. Its tokens are pooled
(class token, mean of the patch tokens, a learned attention pooling, or SigLIP's own attention-pooling head)
and a linear layer with a bias gives the two logits. The model takes ``pixel_values`` ``[B, 3, S, S]`` like
every image classifier, so ``pipeline("image-classification")`` works; SigLIP 2's patch sequence is cut here.

Imports only torch, transformers and its sibling configuration file (peft only to load an adapter-form
save), so ``save_pretrained`` copies both files next to the weights and the model loads with
``trust_remote_code=True`` where hf_aidetect is not installed.
"""

from __future__ import annotations

import contextlib
import copy
import os
import warnings
from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import ImageClassifierOutput
from transformers.utils import logging as hf_logging

from .configuration_backbone_detector import CONVOLUTIONAL, BackboneDetectorConfig, native_image_size

logger = hf_logging.get_logger(__name__)

# Families whose position-embedding table is tied to the input side (resampled once by load_backbone).
POSITION_TABLES = ("clip_vision_model", "siglip_vision_model", "dinov2", "dinov2_with_registers")
HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder", "proxies")


def prefix_tokens(backbone: PretrainedConfig) -> int:
    """Tokens before the patch tokens: the class token and any register tokens."""
    family = backbone.model_type
    if family in ("siglip_vision_model", "siglip2_vision_model", *CONVOLUTIONAL):
        return 0
    return 1 + int(getattr(backbone, "num_register_tokens", 0) or 0)


def patch_sequence(pixel_values: torch.Tensor, patch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``[B, C, H, W]`` -> SigLIP 2's ``[B, N, p * p * C]`` patches (its processor's order) + grid shapes."""
    batch, channels, height, width = pixel_values.shape
    rows, columns = height // patch_size, width // patch_size
    patches = pixel_values.reshape(batch, channels, rows, patch_size, columns, patch_size)
    patches = patches.permute(0, 2, 4, 3, 5, 1).reshape(batch, rows * columns, -1)
    shapes = torch.tensor([[rows, columns]], device=pixel_values.device).expand(batch, 2)
    return patches, shapes


class AttentionPooling(nn.Module):
    """A learned query attending over the patch tokens (multi-head), as in SigLIP's MAP head."""

    def __init__(self, hidden_size: int, num_heads: int) -> None:
        super().__init__()
        self.query = nn.Parameter(torch.zeros(1, 1, hidden_size))
        self.attention = nn.MultiheadAttention(hidden_size, num_heads, batch_first=True)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        query = self.query.expand(tokens.shape[0], -1, -1)
        return self.attention(query, tokens, tokens, need_weights=False)[0][:, 0]


class BackboneDetectorPreTrainedModel(PreTrainedModel):
    """Weight init and loading glue of the backbone detector."""

    config_class = BackboneDetectorConfig
    config: BackboneDetectorConfig
    base_model_prefix = "backbone"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_flex_attn = True
    # forward takes no **kwargs: Trainer must scale the loss itself under gradient accumulation.
    accepts_loss_kwargs = False
    # set_attn_implementation reaches the backbone (it has its own config); transformers' source heuristic
    # would refuse because of AttentionPooling, whose nn.MultiheadAttention does not depend on the switch.
    _can_set_attn_implementation_cached_value = True

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """The head only: the backbone (a PreTrainedModel child) initialises itself."""
        if isinstance(module, nn.Linear):
            init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.MultiheadAttention):
            init.xavier_uniform_(module.in_proj_weight)
            init.zeros_(module.in_proj_bias)
            init.zeros_(module.out_proj.bias)
        elif isinstance(module, AttentionPooling):
            init.trunc_normal_(module.query, std=0.02)


class BackboneDetectorForImageClassification(BackboneDetectorPreTrainedModel):
    """Backbone -> pooling (``config.pooling``) -> dropout -> ``Linear(hidden, num_labels)`` with a bias."""

    def __init__(self, config: BackboneDetectorConfig, backbone: PreTrainedModel | None = None) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.backbone = backbone if backbone is not None else AutoModel.from_config(config.backbone_config)
        config.backbone_config = self.backbone.config  # one object: attention switches reach the backbone
        hidden = _feature_size(config.backbone_config)
        if config.pooling == "attention":
            heads = config.attention_pool_heads or getattr(config.backbone_config, "num_attention_heads", 1)
            self.attention_pool = AttentionPooling(hidden, int(heads))
        self.dropout = nn.Dropout(config.head_dropout)
        self.classifier = nn.Linear(hidden, config.num_labels)
        self.post_init()

    def train(self, mode: bool = True) -> BackboneDetectorForImageClassification:
        """A frozen backbone (linear probe) stays in eval mode: its features never change."""
        super().train(mode)
        if self.config.frozen_backbone:
            self.backbone.eval()
        return self

    def _backbone_outputs(self, pixel_values: torch.Tensor, **kwargs: Any) -> Any:
        backbone = self.config.backbone_config
        if backbone.model_type == "siglip2_vision_model":
            patches, shapes = patch_sequence(pixel_values, int(backbone.patch_size))
            mask = torch.ones(patches.shape[:2], dtype=torch.long, device=patches.device)
            return self.backbone(
                pixel_values=patches, pixel_attention_mask=mask, spatial_shapes=shapes, **kwargs
            )
        return self.backbone(pixel_values=pixel_values, **kwargs)

    def pooled_features(self, pixel_values: torch.Tensor, **kwargs: Any) -> tuple[torch.Tensor, Any]:
        """(pooled features ``[B, hidden]``, the backbone's outputs) for ``config.pooling``."""
        backbone, pooling = self.config.backbone_config, self.config.pooling
        # Training a linear probe: no graph through the frozen backbone. In eval mode gradients stay
        # available, so explanations (Grad-CAM, attention rollout, saliency) reach the pixels.
        frozen = self.config.frozen_backbone and self.training
        with torch.no_grad() if frozen else contextlib.nullcontext():
            outputs = self._backbone_outputs(pixel_values, **kwargs)
        if pooling == "map" or (pooling == "mean" and backbone.model_type in CONVOLUTIONAL):
            return outputs.pooler_output, outputs  # SigLIP's MAP head / ConvNeXt's GAP + LayerNorm
        hidden = outputs.last_hidden_state
        if backbone.model_type in CONVOLUTIONAL:  # [B, C, h, w] -> normalised tokens [B, h * w, C]
            hidden = self.backbone.layernorm(hidden.flatten(2).transpose(1, 2))
        elif backbone.model_type == "clip_vision_model":  # CLIP normalises only its pooled class token
            hidden = self.backbone.post_layernorm(hidden)
        if pooling == "cls":
            return hidden[:, 0], outputs
        patches = hidden[:, prefix_tokens(backbone) :]
        if pooling == "mean":
            return patches.mean(dim=1), outputs
        return self.attention_pool(patches), outputs

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
    ) -> ImageClassifierOutput | tuple[torch.Tensor, ...]:
        r"""
        pixel_values: float tensor ``[batch, 3, image_size, image_size]``.
        labels: optional int64 ``[batch]`` class ids (0 = real, 1 = fake); adds the cross-entropy ``loss``.
        """
        kwargs = {
            name: value
            for name, value in (
                ("output_hidden_states", output_hidden_states),
                ("output_attentions", output_attentions),
            )
            if value is not None
        }
        features, outputs = self.pooled_features(pixel_values, **kwargs)
        logits = self.classifier(self.dropout(features))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(
                logits.view(-1, self.num_labels), labels.view(-1).to(logits.device)
            )
        hidden_states = getattr(outputs, "hidden_states", None)
        attentions = getattr(outputs, "attentions", None)
        if return_dict is False:
            output = tuple(v for v in (logits, hidden_states, attentions) if v is not None)
            return (loss, *output) if loss is not None else output
        return ImageClassifierOutput(
            loss=loss, logits=logits, hidden_states=hidden_states, attentions=attentions
        )

    @classmethod
    def from_backbone(
        cls, config: BackboneDetectorConfig, name_or_path: str, **hub_kwargs: Any
    ) -> BackboneDetectorForImageClassification:
        """``config``'s detector: the pre-trained backbone weights of ``name_or_path`` and a fresh head."""
        backbone = load_backbone(config.backbone_config, name_or_path, **hub_kwargs)
        return cls(config, backbone=backbone)

    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike, *args: Any, **kwargs: Any
    ) -> Any:
        """A saved detector; an adapter-form save is rebuilt from its base backbone and merged."""
        config = kwargs.get("config")
        hub = {name: kwargs[name] for name in HUB_KWARGS if kwargs.get(name) is not None}
        if not isinstance(config, PretrainedConfig):
            config = cls.config_class.from_pretrained(pretrained_model_name_or_path, **hub)
        if not getattr(config, "adapter", None):
            return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        return _from_adapter(cls, str(pretrained_model_name_or_path), config, hub, kwargs.get("dtype"))


def _from_adapter(
    cls: type[BackboneDetectorForImageClassification],
    path: str,
    config: BackboneDetectorConfig,
    hub: dict[str, Any],
    dtype: Any = None,
) -> BackboneDetectorForImageClassification:
    """The base backbone (``config.adapter['base_model']``) + the adapter and head, merged (plain weights)."""
    try:
        from peft import PeftModel
    except ImportError:
        raise ImportError(
            f"{path} is a LoRA adapter (with its head) on {config.adapter.get('base_model')}: loading it "
            "needs peft (pip install peft), or publish the merged model instead (--lora_save merged)."
        ) from None
    adapter = dict(config.adapter)
    base_config = copy.deepcopy(config)
    base_config.adapter = None
    base_hub = {k: v for k, v in hub.items() if k in ("cache_dir", "token", "local_files_only", "proxies")}
    base = cls.from_backbone(base_config, adapter["base_model"], revision=adapter.get("revision"), **base_hub)
    subfolder = "/".join(part for part in (hub.get("subfolder"), adapter.get("subfolder")) if part)
    adapter_hub = {
        k: v for k, v in hub.items() if k in ("cache_dir", "token", "revision", "local_files_only")
    }
    with warnings.catch_warnings():  # peft still asks for transformers' deprecated is_gradient_checkpointing
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        adapted = PeftModel.from_pretrained(base, path, subfolder=subfolder or None, **adapter_hub)
        model = adapted.merge_and_unload()
    model.config.adapter = adapter
    if dtype is not None and dtype != "auto":
        model = model.to(getattr(torch, dtype) if isinstance(dtype, str) else dtype)
    return model.eval()


def _feature_size(backbone: PretrainedConfig) -> int:
    if backbone.model_type in CONVOLUTIONAL:
        return int(backbone.hidden_sizes[-1])
    return int(backbone.hidden_size)


def backbone_config_of(config: PretrainedConfig) -> PretrainedConfig:
    """The vision tower's config inside a full CLIP / SigLIP / SigLIP 2 config (others as they are)."""
    vision = getattr(config, "vision_config", None)
    return vision if isinstance(vision, PretrainedConfig) else config


def load_backbone(target: PretrainedConfig, name_or_path: str, **hub_kwargs: Any) -> PreTrainedModel:
    """The pre-trained backbone of ``name_or_path`` built as ``target`` says (input side, SigLIP head).

    Weights are loaded at the checkpoint's own side, then a position-embedding table tied to the side is
    resampled once by the model's own ``interpolate_pos_encoding`` (bicubic), exactly what the model would
    compute at every forward with ``interpolate_pos_encoding=True``. A missing or mismatched backbone
    weight is an error: a silently random backbone would train as if it were pre-trained.
    """
    model_kwargs = {k: hub_kwargs.pop(k) for k in ("attn_implementation", "dtype") if k in hub_kwargs}
    source = backbone_config_of(AutoConfig.from_pretrained(name_or_path, **hub_kwargs))
    if source.model_type != target.model_type:
        raise ValueError(
            f"{name_or_path} holds a {source.model_type} model, but the detector's backbone is "
            f"{target.model_type}; pass the checkpoint it was built from."
        )
    load_config = copy.deepcopy(target)
    native = native_image_size(source)
    if hasattr(load_config, "image_size"):
        load_config.image_size = native
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # a full CLIP / SigLIP checkpoint's text tower is expected to be unused
    try:
        backbone, info = AutoModel.from_pretrained(
            name_or_path, config=load_config, output_loading_info=True, **hub_kwargs, **model_kwargs
        )
    finally:
        hf_logging.set_verbosity(verbosity)
    unused = sorted({str(key).split(".")[0] for key in info.get("unexpected_keys", [])})
    if unused:
        logger.info(
            "%s: weights outside the %s backbone not used (%s).", name_or_path, target.model_type, unused
        )
    problems = [*info.get("missing_keys", []), *(str(key) for key in info.get("mismatched_keys", []))]
    if problems:
        raise ValueError(
            f"{name_or_path} does not hold every backbone weight ({', '.join(sorted(problems)[:5])}"
            f"{' ...' if len(problems) > 5 else ''}): is it a {target.model_type} checkpoint?"
        )
    if getattr(target, "image_size", native) != native:
        backbone = resize_backbone(backbone, target)
    return backbone


def resize_backbone(backbone: PreTrainedModel, target: PretrainedConfig) -> PreTrainedModel:
    """``backbone`` rebuilt at ``target.image_size``, its position table resampled (see ``load_backbone``)."""
    size = int(target.image_size)
    with torch.random.fork_rng(devices=[]):  # building the new model must not move the caller's RNG
        resized = type(backbone)(target)
    state = backbone.state_dict()
    for name, tensor in resized.state_dict().items():
        if name in state and state[name].shape != tensor.shape:
            owner = _position_table_owner(backbone, name)
            if target.model_type not in POSITION_TABLES or owner is None:
                raise ValueError(f"{name} depends on the input side and cannot be interpolated to {size} px.")
            with torch.no_grad():
                probe = torch.zeros(1, tensor.shape[-2], tensor.shape[-1], dtype=state[name].dtype)
                state[name] = owner.interpolate_pos_encoding(probe, size, size).reshape(tensor.shape).clone()
    resized.load_state_dict(state, strict=True)
    return resized.to(dtype=next(backbone.parameters()).dtype)


def _position_table_owner(backbone: PreTrainedModel, name: str) -> nn.Module | None:
    """The embeddings module whose ``interpolate_pos_encoding`` resamples tensor ``name``, or None."""
    if name.endswith(".position_embedding.weight"):  # CLIP / SigLIP: an nn.Embedding table
        owner_name = name[: -len(".position_embedding.weight")]
    elif name.endswith(".position_embeddings"):  # DINOv2: a parameter [1, 1 + N, D]
        owner_name = name[: -len(".position_embeddings")]
    else:
        return None
    owner = backbone.get_submodule(owner_name)
    return owner if hasattr(owner, "interpolate_pos_encoding") else None


__all__ = [
    "AttentionPooling",
    "BackboneDetectorForImageClassification",
    "BackboneDetectorPreTrainedModel",
    "load_backbone",
]
