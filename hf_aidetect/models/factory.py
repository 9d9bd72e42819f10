"""``build_model``: one entry for the seed CNN, ViT and any ``AutoModelForImageClassification``.

Every model comes back with exactly two labels (real=0, fake=1) and an image processor that
``save_pretrained`` writes next to it, so ``pipeline("image-classification", model=DIR)`` works on the output.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import Any

from transformers import (
    AutoConfig,
    AutoImageProcessor,
    AutoModelForImageClassification,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.image_processing_utils import BaseImageProcessor
from transformers.image_utils import PILImageResampling, SizeDict
from transformers.models.bit.image_processing_pil_bit import BitImageProcessorPil

from hf_aidetect.data.labels import ID2LABEL, LABEL2ID
from hf_aidetect.data.preprocessing.config import InputSpec, size_field
from hf_aidetect.errors import ConfigError
from hf_aidetect.models.arguments import ModelArguments
from hf_aidetect.models.resolution import resize_model_input
from hf_aidetect.models.stem_init import apply_stem_init
from hf_aidetect.models.tuning import count_parameters

logger = logging.getLogger(__name__)

# ViT-in21k and our fresh models normalise to [-1, 1]; ImageNet checkpoints bring their own processor.
DEFAULT_MEAN = (0.5, 0.5, 0.5)
DEFAULT_STD = (0.5, 0.5, 0.5)


def _label_kwargs() -> dict[str, Any]:
    return {"num_labels": len(ID2LABEL), "id2label": dict(ID2LABEL), "label2id": dict(LABEL2ID)}


def _config_image_size(config: PretrainedConfig, fallback: int = 224) -> int:
    size = getattr(config, "image_size", None)
    if isinstance(size, (list, tuple)):
        size = size[0]
    return int(size) if size else fallback


def build_image_processor(
    config: PretrainedConfig,
    image_size: int | None = None,
    image_mean: Sequence[float] | None = None,
    image_std: Sequence[float] | None = None,
) -> BaseImageProcessor:
    """Processor for a model built from a config (no Hub needed): resize the shorter side to ``image_size``,
    center-crop a square, rescale, normalise (mean = std = 0.5 by default, i.e. pixels in [-1, 1]).

    Center-cropping matches the training eval transform (largest centered square, then resize), so
    ``pipeline("image-classification")`` sees what evaluation saw, also for non-square images. Saved as
    ``BitImageProcessor`` (the PIL backend is used here because torchvision is optional).
    """
    size = image_size or _config_image_size(config)
    mean = list(image_mean or DEFAULT_MEAN)
    std = list(image_std or DEFAULT_STD)
    channels = int(getattr(config, "num_channels", 3) or 3)
    mean, std = (v * channels if len(v) == 1 else v for v in (mean, std))
    return BitImageProcessorPil(
        size={"shortest_edge": size},
        crop_size={"height": size, "width": size},
        do_center_crop=True,
        resample=PILImageResampling.BILINEAR,
        image_mean=mean,
        image_std=std,
    )


def _checked_overrides(
    config_class: type[PretrainedConfig], overrides: dict[str, Any], config: PretrainedConfig | None = None
) -> dict[str, Any]:
    known = set((config or config_class()).to_dict())
    unknown = sorted(key for key in overrides if key not in known)
    if unknown:
        raise ConfigError(
            f"--config_overrides has fields {unknown} that {config_class.__name__} does not know; "
            f"valid fields include: {', '.join(sorted(known - {'transformers_version'}))}."
        )
    return overrides


def _from_config(args: ModelArguments) -> tuple[PreTrainedModel, BaseImageProcessor]:
    model_type = str(args.model_type)
    try:
        config_class = AutoConfig.for_model(model_type).__class__
    except ValueError:
        raise ConfigError(
            f"--model_type {model_type!r} is not a transformers config type; use 'seed_cnn', 'vit', "
            "'deit', 'convnext', ... or pass a checkpoint with --model_name_or_path."
        ) from None
    overrides = _checked_overrides(config_class, dict(args.config_overrides or {}))
    if args.image_size is not None and "image_size" in config_class().to_dict():
        overrides["image_size"] = args.image_size
    config = config_class(**{**overrides, **_label_kwargs()})
    kwargs = {"attn_implementation": args.attn_implementation} if args.attn_implementation else {}
    try:
        model = AutoModelForImageClassification.from_config(config, **kwargs)
    except ValueError as error:
        raise ConfigError(
            f"cannot build an image classifier for --model_type {model_type!r}: {error}"
        ) from None
    processor = build_image_processor(config, args.image_size, args.image_mean, args.image_std)
    return model, processor


def _warn_on_label_order(path: str, config: PretrainedConfig) -> None:
    names = {int(k): str(v).lower() for k, v in (getattr(config, "id2label", None) or {}).items()}
    if set(names.values()) == set(LABEL2ID) and names != ID2LABEL:
        logger.warning(
            "%s maps its classes as %s; hf_aidetect always uses %s, so the checkpoint's trained head now "
            "answers the opposite class. Fine-tune it (or fix its id2label) before trusting its outputs.",
            path,
            names,
            ID2LABEL,
        )


def _from_checkpoint(args: ModelArguments) -> tuple[PreTrainedModel, BaseImageProcessor]:
    from hf_aidetect.models.backbones import builder

    path = str(args.model_name_or_path)
    hub = {
        "revision": args.model_revision,
        "cache_dir": args.cache_dir,
        "trust_remote_code": args.trust_remote_code,
    }
    try:
        config = AutoConfig.from_pretrained(path, **hub)
        if builder.is_backbone_family(config.model_type):
            return builder.build_from_checkpoint(args, config)
        _warn_on_label_order(path, config)
        _checked_overrides(type(config), dict(args.config_overrides or {}), config)
        for key, value in {**(args.config_overrides or {}), **_label_kwargs()}.items():
            setattr(config, key, value)
        kwargs = {"attn_implementation": args.attn_implementation} if args.attn_implementation else {}
        model = AutoModelForImageClassification.from_pretrained(
            path, config=config, ignore_mismatched_sizes=True, **hub, **kwargs
        )
    except OSError as error:
        raise ConfigError(
            f"cannot load checkpoint {path!r}: {str(error).rstrip('.')}. Give a local folder with "
            "config.json + weights, connect / log in to reach the Hub, or build offline with --model_type."
        ) from None
    try:
        processor = AutoImageProcessor.from_pretrained(
            path, revision=args.model_revision, cache_dir=args.cache_dir
        )
    except (OSError, ValueError):
        logger.warning("%s has no preprocessor_config.json; using center crop + mean/std 0.5.", path)
        processor = build_image_processor(config, None, args.image_mean, args.image_std)
    if args.image_size is not None and args.image_size != _config_image_size(config, args.image_size):
        model = resize_model_input(model, args.image_size)
        processor = processor_at_size(processor, args.image_size)
    return model, processor


def processor_at_size(processor: BaseImageProcessor, size: int) -> BaseImageProcessor:
    """A copy of ``processor`` that outputs ``size`` x ``size`` (its resize scaled by the same factor)."""
    processor = copy.deepcopy(processor)
    factor = size / InputSpec.from_image_processor(processor).size
    if getattr(processor, "do_center_crop", False) and getattr(processor, "crop_size", None):
        processor.crop_size = SizeDict(height=size, width=size)
    height, width = size_field(processor.size, "height"), size_field(processor.size, "width")
    shortest = size_field(processor.size, "shortest_edge")
    if height and width:
        processor.size = SizeDict(height=round(height * factor), width=round(width * factor))
    elif shortest:
        processor.size = SizeDict(shortest_edge=round(shortest * factor))
    return processor


def freeze_backbone(model: PreTrainedModel) -> int:
    """Freeze every parameter outside the classification head (``--tuning linear_probe``); returns the
    number still trainable."""
    from hf_aidetect.models.tuning import apply_tuning
    from hf_aidetect.models.tuning_arguments import TuningArguments

    apply_tuning(model, TuningArguments(tuning="linear_probe"))
    return count_parameters(model, trainable_only=True)


def build_model(model_args: ModelArguments) -> tuple[PreTrainedModel, BaseImageProcessor]:
    """Model with 2 labels (real=0, fake=1) + its image processor, from a checkpoint or from a config.

    CLIP / SigLIP / DINO / ConvNeXt V2 backbones get hf_aidetect's backbone head
    (:mod:`hf_aidetect.models.backbones`); ``--tuning`` then picks which weights train
    (:mod:`hf_aidetect.models.tuning`; a ``PeftModel`` for LoRA).
    """
    from hf_aidetect.models.backbones import builder
    from hf_aidetect.models.tuning import apply_tuning

    if model_args.model_name_or_path:
        if model_args.model_type:
            logger.info("--model_name_or_path is set; ignoring --model_type %s.", model_args.model_type)
        model, processor = _from_checkpoint(model_args)
    elif builder.is_backbone_family(model_args.model_type):
        model, processor = builder.build_from_config(model_args)
    else:
        model, processor = _from_config(model_args)
    model = apply_stem_init(model, model_args.stem_init)  # ModelArguments refuses it for checkpoints
    logger.info(
        "Built %s (%s parameters), input %s px.",
        type(model).__name__,
        f"{count_parameters(model):,}",
        _config_image_size(model.config),
    )
    if model_args.pooling != "auto" and not hasattr(model.config, "pooling"):
        logger.warning(
            "--pooling %s is ignored: %s keeps its own head (pooling applies to CLIP / SigLIP / DINO / "
            "ConvNeXt V2 backbones).",
            model_args.pooling,
            type(model).__name__,
        )
    return apply_tuning(model, model_args), processor
