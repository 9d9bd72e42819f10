"""Configuration of hf_aidetect's detector head on a pre-trained backbone (CLIP, SigLIP, DINO, ConvNeXt V2).

Imports only transformers so that ``save_pretrained`` can copy this file next to the weights and the model
loads with ``trust_remote_code=True`` where hf_aidetect is not installed.
"""

from __future__ import annotations

from typing import Any

from transformers import AutoConfig, PretrainedConfig

# Backbone model types this head reads, with the pooling it uses unless told otherwise.
DEFAULT_POOLING = {
    "clip_vision_model": "cls",
    "siglip_vision_model": "map",
    "siglip2_vision_model": "map",
    "dinov2": "cls",
    "dinov2_with_registers": "cls",
    "dinov3_vit": "cls",
    "convnextv2": "mean",
}
FAMILY_NAMES = {
    "clip_vision_model": "CLIP ViT",
    "siglip_vision_model": "SigLIP ViT",
    "siglip2_vision_model": "SigLIP 2 ViT (NaFlex)",
    "dinov2": "DINOv2 ViT",
    "dinov2_with_registers": "DINOv2 ViT with registers",
    "dinov3_vit": "DINOv3 ViT",
    "convnextv2": "ConvNeXt V2",
}
POOLINGS = ("cls", "mean", "attention", "map")
CONVOLUTIONAL = ("convnextv2",)
NO_CLASS_TOKEN = ("siglip_vision_model", "siglip2_vision_model", *CONVOLUTIONAL)
MAP_HEADS = ("siglip_vision_model", "siglip2_vision_model")
CLASS_TOKEN_VITS = ("clip_vision_model", "dinov2", "dinov2_with_registers", "dinov3_vit")


def _as_config(value: PretrainedConfig | dict[str, Any]) -> PretrainedConfig:
    if isinstance(value, PretrainedConfig):
        return value
    values = dict(value)
    model_type = values.pop("model_type", None)
    if model_type not in DEFAULT_POOLING:
        raise ValueError(
            f"backbone_config.model_type {model_type!r} is not a supported backbone; use one of "
            f"{', '.join(DEFAULT_POOLING)}."
        )
    return AutoConfig.for_model(model_type, **values)


class BackboneDetectorConfig(PretrainedConfig):
    """A pre-trained vision backbone, how its tokens are pooled, and a linear real / fake head.

    Args:
        backbone_config: The vision tower's config (or its dict), e.g. a ``CLIPVisionConfig``.
        pooling: ``cls`` (class token after the final norm), ``mean`` (mean of the patch tokens; for
            ConvNeXt V2 its global average pool + final LayerNorm), ``attention`` (a learned query attending
            over the patch tokens), ``map`` (SigLIP's own pre-trained attention-pooling head).
        image_size: Square input side in pixels (also set on the backbone config where it has one).
        head_dropout: Dropout before the linear head.
        attention_pool_heads: Heads of the ``attention`` pooling (default: the backbone's attention heads).
        frozen_backbone: The backbone is not trained (linear probe): it stays in eval mode (dropout /
            stochastic depth never change its features) and, while the model trains, runs under
            ``torch.no_grad``.
        backbone_checkpoint: Where the pre-trained backbone weights came from (a Hub id or a path), with
            ``backbone_revision``; an adapter-form save loads them from there.
        adapter: Set on adapter-form saves: ``{"subfolder": ..., "base_model": ..., "revision": ...}``.
        tuning: What training changed (mode, trainable parameters), written by hf_aidetect.
    """

    model_type = "backbone_detector"
    sub_configs = {"backbone_config": AutoConfig}

    def __init__(
        self,
        backbone_config: PretrainedConfig | dict[str, Any] | None = None,
        pooling: str | None = None,
        image_size: int | None = None,
        head_dropout: float = 0.0,
        attention_pool_heads: int | None = None,
        frozen_backbone: bool = False,
        backbone_checkpoint: str | None = None,
        backbone_revision: str | None = None,
        adapter: dict[str, Any] | None = None,
        tuning: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("id2label") is None and kwargs.get("num_labels") in (None, 2):
            kwargs["id2label"] = {0: "real", 1: "fake"}
            kwargs["label2id"] = {"real": 0, "fake": 1}
        backbone = _as_config(backbone_config if backbone_config is not None else {"model_type": "dinov2"})
        family = backbone.model_type
        pooling = pooling or DEFAULT_POOLING[family]
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}.")
        if pooling == "cls" and family in NO_CLASS_TOKEN:
            options = "'mean' or 'attention'" + (" or 'map'" if family in MAP_HEADS else "")
            raise ValueError(f"{family} has no class token; use pooling {options}.")
        if pooling == "map" and family not in MAP_HEADS:
            raise ValueError(f"pooling 'map' is SigLIP's attention-pooling head; {family} has none.")
        if family in MAP_HEADS:
            backbone.vision_use_head = pooling == "map"  # an unused head would be dead weight
        if image_size is None:
            image_size = native_image_size(backbone)
        patch = int(getattr(backbone, "patch_size", 1))
        if family not in CONVOLUTIONAL and int(image_size) % patch:
            raise ValueError(
                f"image_size {image_size} is not a multiple of {family}'s patch size {patch} px."
            )
        if hasattr(backbone, "image_size"):
            backbone.image_size = int(image_size)
        self.backbone_config = backbone
        self.pooling = pooling
        self.image_size = int(image_size)
        self.num_channels = int(getattr(backbone, "num_channels", 3) or 3)
        if family in CLASS_TOKEN_VITS:  # lets tools that read ViT configs (attention rollout) see the grid
            self.patch_size = int(backbone.patch_size)
            self.num_attention_heads = int(backbone.num_attention_heads)
        self.head_dropout = float(head_dropout)
        self.attention_pool_heads = attention_pool_heads
        self.frozen_backbone = bool(frozen_backbone)
        self.backbone_checkpoint = backbone_checkpoint
        self.backbone_revision = backbone_revision
        self.adapter = adapter
        self.tuning = tuning
        super().__init__(**kwargs)


def native_image_size(backbone: PretrainedConfig) -> int:
    """The input side a backbone was pre-trained at (SigLIP 2: its position grid times the patch size)."""
    if backbone.model_type == "siglip2_vision_model":
        return round(backbone.num_patches**0.5) * int(backbone.patch_size)
    size = getattr(backbone, "image_size", 224)
    return int(size[0] if isinstance(size, (list, tuple)) else size)


__all__ = ["BackboneDetectorConfig"]
