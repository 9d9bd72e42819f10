"""Build a :class:`BackboneDetectorForImageClassification` from a checkpoint or a fresh backbone config.

``build_model`` routes here for CLIP / SigLIP / SigLIP 2 / DINOv2 (with registers) / DINOv3 ViT / ConvNeXt V2
checkpoints (a full CLIP / SigLIP checkpoint gives its vision tower) and for ``--model_type`` of those
families; every other checkpoint keeps its own ``AutoModelForImageClassification`` head. The processor
normalises with the checkpoint's own mean / std (read from its ``preprocessor_config.json``, the family's
published values otherwise) at the model's input side; the training runner turns it into the
native-resolution crop geometry.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from transformers import AutoConfig, PretrainedConfig, PreTrainedModel
from transformers.image_processing_utils import BaseImageProcessor, ImageProcessingMixin
from transformers.image_utils import (
    IMAGENET_DEFAULT_MEAN,
    IMAGENET_DEFAULT_STD,
    OPENAI_CLIP_MEAN,
    OPENAI_CLIP_STD,
    PILImageResampling,
)
from transformers.models.bit.image_processing_pil_bit import BitImageProcessorPil

from hf_aidetect.data.labels import ID2LABEL, LABEL2ID
from hf_aidetect.errors import ConfigError
from hf_aidetect.models.arguments import ModelArguments
from hf_aidetect.models.backbones.configuration_backbone_detector import (
    DEFAULT_POOLING,
    FAMILY_NAMES,
    BackboneDetectorConfig,
)
from hf_aidetect.models.backbones.modeling_backbone_detector import (
    BackboneDetectorForImageClassification,
    backbone_config_of,
)

logger = logging.getLogger(__name__)

# Checkpoint model types read through the backbone head -> the backbone (vision tower) model type.
CHECKPOINT_TYPES = {
    "clip": "clip_vision_model",
    "siglip": "siglip_vision_model",
    "siglip2": "siglip2_vision_model",
    **{family: family for family in DEFAULT_POOLING},
}
# The families' published normalisation, for checkpoints without a preprocessor_config.json.
NORMALISATION = {
    "clip_vision_model": (OPENAI_CLIP_MEAN, OPENAI_CLIP_STD),
    "siglip_vision_model": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "siglip2_vision_model": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
}


def is_backbone_family(model_type: str | None) -> bool:
    """True for checkpoint / config model types that go through the backbone head."""
    return model_type in CHECKPOINT_TYPES


def _label_kwargs() -> dict[str, Any]:
    return {"num_labels": len(ID2LABEL), "id2label": dict(ID2LABEL), "label2id": dict(LABEL2ID)}


def _with_overrides(backbone: PretrainedConfig, overrides: dict[str, Any]) -> PretrainedConfig:
    backbone = copy.deepcopy(backbone)
    known = set(backbone.to_dict())
    unknown = sorted(key for key in overrides if key not in known)
    if unknown:
        raise ConfigError(
            f"--config_overrides has fields {unknown} that {type(backbone).__name__} does not know; "
            f"valid fields include: {', '.join(sorted(known - {'transformers_version'}))}."
        )
    for key, value in overrides.items():
        setattr(backbone, key, value)
    return backbone


def detector_config(
    backbone: PretrainedConfig, args: ModelArguments, checkpoint: str | None = None
) -> BackboneDetectorConfig:
    """The detector config for ``backbone`` with the recipe's pooling, input side and head dropout."""
    try:
        return BackboneDetectorConfig(
            backbone_config=backbone,
            pooling=None if args.pooling == "auto" else args.pooling,
            image_size=args.image_size,
            head_dropout=args.head_dropout,
            backbone_checkpoint=checkpoint,
            backbone_revision=args.model_revision if checkpoint else None,
            **_label_kwargs(),
        )
    except ValueError as error:
        flag = "--image_size" if "image_size" in str(error) else "--pooling"
        raise ConfigError(f"{flag}: {error}") from None


def build_from_checkpoint(
    args: ModelArguments, checkpoint_config: PretrainedConfig
) -> tuple[PreTrainedModel, BaseImageProcessor]:
    """Our head on the pre-trained backbone of ``args.model_name_or_path`` (its config already loaded)."""
    path = str(args.model_name_or_path)
    backbone = _with_overrides(backbone_config_of(checkpoint_config), dict(args.config_overrides or {}))
    config = detector_config(backbone, args, checkpoint=path)
    hub = {"revision": args.model_revision, "cache_dir": args.cache_dir}
    if args.attn_implementation:
        hub["attn_implementation"] = args.attn_implementation
    try:
        model = BackboneDetectorForImageClassification.from_backbone(config, path, **hub)
    except OSError as error:
        raise ConfigError(
            f"cannot load checkpoint {path!r}: {str(error).rstrip('.')}. Give a local folder with "
            "config.json + weights, or connect / log in to reach the Hub."
        ) from None
    except ValueError as error:
        raise ConfigError(f"--model_name_or_path {path}: {error}") from None
    logger.info(
        "%s backbone from %s, pooling %s, input %d px.",
        FAMILY_NAMES[backbone.model_type],
        path,
        config.pooling,
        config.image_size,
    )
    return model, backbone_processor(config, args, path)


def build_from_config(args: ModelArguments) -> tuple[PreTrainedModel, BaseImageProcessor]:
    """A randomly initialised backbone of ``--model_type`` (e.g. ``dinov3_vit``) with our head, offline."""
    model_type = CHECKPOINT_TYPES[str(args.model_type)]
    backbone = _with_overrides(AutoConfig.for_model(model_type), dict(args.config_overrides or {}))
    if args.attn_implementation:
        backbone._attn_implementation = args.attn_implementation
    config = detector_config(backbone, args)
    return BackboneDetectorForImageClassification(config), backbone_processor(config, args, None)


def _checkpoint_normalisation(path: str | None, args: ModelArguments) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        values, _ = ImageProcessingMixin.get_image_processor_dict(
            path, revision=args.model_revision, cache_dir=args.cache_dir
        )
    except (OSError, ValueError):
        logger.info("%s has no preprocessor_config.json; using the family's published mean / std.", path)
        return {}
    return {
        key: values[key] for key in ("image_mean", "image_std", "resample") if values.get(key) is not None
    }


def backbone_processor(
    config: BackboneDetectorConfig, args: ModelArguments, path: str | None
) -> BitImageProcessorPil:
    """Resize + centre crop to the model's side with the backbone's normalisation (``processor_for`` then
    makes it the native-resolution crop of the recipe's geometry)."""
    family = config.backbone_config.model_type
    saved = _checkpoint_normalisation(path, args)
    mean, std = NORMALISATION.get(family, (IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD))
    mean = list(args.image_mean or saved.get("image_mean") or mean)
    std = list(args.image_std or saved.get("image_std") or std)
    mean, std = (v * 3 if len(v) == 1 else v for v in (mean, std))
    size = int(config.image_size)
    return BitImageProcessorPil(
        size={"shortest_edge": size},
        crop_size={"height": size, "width": size},
        do_center_crop=True,
        resample=PILImageResampling(saved.get("resample", PILImageResampling.BICUBIC)),
        image_mean=mean,
        image_std=std,
    )
