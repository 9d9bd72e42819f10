"""``ModelArguments``: which model to build, for ``HfArgumentParser`` (CLI flags) and YAML recipes."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from hf_aidetect.errors import ConfigError
from hf_aidetect.models.tuning_arguments import TuningArguments

STEM_INITS = ("default", "highpass")  # --stem_init; models/stem_init.py applies them

logger = logging.getLogger(__name__)

# What `hf-aidetect train` fine-tunes when the recipe names no model (the README's default ViT).
DEFAULT_CHECKPOINT = "google/vit-base-patch16-224-in21k"


def parse_overrides(value: dict[str, Any] | str | None) -> dict[str, Any]:
    """``{"a": 1}`` / ``'{"a": 1}'`` / ``"a=1,b=x"`` -> dict (``k=v`` values are read as JSON if valid)."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return dict(value)
    text = str(value).strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"--config_overrides is not valid JSON ({error}): {text!r}") from None
        return dict(parsed)
    result: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"--config_overrides item {item!r} is not key=value; use e.g. "
                "'hidden_size=64,num_hidden_layers=2' or a JSON object."
            )
        try:
            result[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            result[key.strip()] = raw.strip()
    return result


@dataclass
class ModelArguments(TuningArguments):
    """What to fine-tune: a checkpoint (``model_name_or_path``) or a fresh model (``model_type``), and how
    much of it trains (:class:`~hf_aidetect.models.tuning_arguments.TuningArguments`)."""

    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "Checkpoint to fine-tune: a Hub id (e.g. google/vit-base-patch16-224-in21k) or a local "
            "folder holding any AutoModelForImageClassification. The head is replaced by a 2-label "
            "real/fake head. Default (with no --model_type): google/vit-base-patch16-224-in21k."
        },
    )
    model_type: str | None = field(
        default=None,
        metadata={
            "help": "Build a fresh, randomly initialised model from this config model_type instead of a "
            "checkpoint: 'seed_cnn' (the report's CNN), 'vit', or any transformers config model_type. "
            "Works offline."
        },
    )
    config_overrides: dict[str, Any] | str | None = field(
        default=None,
        metadata={
            "help": "Config fields to set, as JSON or key=value pairs, e.g. "
            "'hidden_size=64,num_hidden_layers=2,num_attention_heads=2,intermediate_size=128,patch_size=8'. "
            "Also applied on top of a checkpoint's config (e.g. hidden_dropout_prob=0.1)."
        },
    )
    image_size: int | None = field(
        default=None,
        metadata={
            "help": "Square input side in pixels for --model_type builds (default: the config's, 224 for "
            "ViT-B/16 and the CNN; the CNN needs >= 85). Checkpoints keep their own size."
        },
    )
    stem_init: str = field(
        default="default",
        metadata={
            "help": "How a fresh --model_type build starts its stem (the first convolution over the pixels): "
            "'default' (the model's own init) or 'highpass' (random high-pass filters, so the first layer "
            "starts on pixel-level residuals rather than content; a from-scratch ViT needs it to take off "
            "on generator traces). Checkpoints keep their trained stem."
        },
    )
    image_mean: list[float] | None = field(
        default=None,
        metadata={"help": "Per-channel normalisation mean for fresh models (default 0.5 0.5 0.5)."},
    )
    image_std: list[float] | None = field(
        default=None,
        metadata={"help": "Per-channel normalisation std for fresh models (default 0.5 0.5 0.5)."},
    )
    freeze_backbone: bool = field(
        default=False,
        metadata={"help": "Train only the classification head (the same as --tuning linear_probe)."},
    )
    trust_remote_code: bool = field(
        default=False,
        metadata={"help": "Allow checkpoints whose model code ships with the checkpoint (auto_map)."},
    )
    attn_implementation: str | None = field(
        default=None,
        metadata={"help": "Attention kernel for transformer models: 'sdpa', 'eager', ... (default: auto)."},
    )
    model_revision: str = field(
        default="main", metadata={"help": "Branch, tag or commit of a Hub checkpoint."}
    )
    cache_dir: str | None = field(
        default=None, metadata={"help": "Where Hub checkpoints are cached (default: HF_HOME)."}
    )

    def __post_init__(self) -> None:
        self.config_overrides = parse_overrides(self.config_overrides)
        if not self.model_name_or_path and not self.model_type:
            # The README's default: ViT-B/16 pre-trained on ImageNet-21k, as the vit_base recipe.
            logger.info("No --model_name_or_path / --model_type: fine-tuning %s.", DEFAULT_CHECKPOINT)
            self.model_name_or_path = DEFAULT_CHECKPOINT
        if self.image_size is not None and self.image_size < 8:
            raise ConfigError(f"--image_size must be a pixel size >= 8, got {self.image_size}.")
        self._check_stem_init()
        for name in ("image_mean", "image_std"):
            value = getattr(self, name)
            if value is not None and len(value) not in (1, 3):
                raise ConfigError(f"--{name} takes 1 or 3 numbers, got {value}.")
        self.validate_tuning(self.freeze_backbone)

    def _check_stem_init(self) -> None:
        if self.stem_init not in STEM_INITS:
            raise ConfigError(f"--stem_init must be one of {', '.join(STEM_INITS)}, got {self.stem_init!r}.")
        if self.stem_init != "default" and self.model_name_or_path:
            raise ConfigError(
                f"--stem_init {self.stem_init} re-initialises a fresh --model_type build, but "
                f"the checkpoint {self.model_name_or_path} (--model_name_or_path, the default without "
                "--model_type) loads trained weights; build with --model_type or drop --stem_init."
            )
