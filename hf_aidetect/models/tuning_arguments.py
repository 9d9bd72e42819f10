"""``TuningArguments``: how much of a pre-trained backbone is trained, how it is read out, how LoRA is saved.

A base of :class:`~hf_aidetect.models.arguments.ModelArguments`, so every field is a flat recipe key and a
CLI flag (``--tuning lora --lora_r 16``), named like TRL's ``ModelConfig`` where TRL has the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hf_aidetect.errors import ConfigError

TUNING_MODES = ("full", "linear_probe", "layernorm", "lora")
POOLINGS = ("auto", "cls", "mean", "attention", "map")
LORA_SAVES = ("merged", "adapter")


@dataclass
class TuningArguments:
    """Which backbone weights train (``tuning``), the pooling of our backbone head, and the LoRA settings."""

    tuning: str = field(
        default="full",
        metadata={
            "help": "Which weights train: 'full' (all), 'linear_probe' (the head only; the backbone runs "
            "frozen under no_grad), 'layernorm' (the backbone's normalisation layers + the head), 'lora' "
            "(low-rank adapters on the backbone's attention / MLP projections via peft + the head).",
            "choices": list(TUNING_MODES),
        },
    )
    pooling: str = field(
        default="auto",
        metadata={
            "help": "How the backbone head of CLIP / SigLIP / DINO / ConvNeXt V2 checkpoints pools tokens: "
            "'cls' (class token), 'mean' (mean of the patch tokens), 'attention' (a learned query attending "
            "over the patch tokens), 'map' (SigLIP's pre-trained attention-pooling head); 'auto': cls for "
            "CLIP / DINO, map for SigLIP, mean for ConvNeXt V2. Other checkpoints keep their own head.",
            "choices": list(POOLINGS),
        },
    )
    head_dropout: float = field(
        default=0.0, metadata={"help": "Dropout before the linear head of the backbone head."}
    )
    lora_r: int = field(default=16, metadata={"help": "LoRA rank (--tuning lora)."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling alpha (update = alpha / r * B A)."})
    lora_dropout: float = field(default=0.0, metadata={"help": "Dropout on the LoRA branch's input."})
    lora_target_modules: list[str] | None = field(
        default=None,
        metadata={
            "help": "Backbone modules that get adapters, by name (e.g. q_proj v_proj), or 'all-linear'. "
            "Default per family: the attention projections q_proj k_proj v_proj + the output projection "
            "for ViTs, pwconv1 pwconv2 for ConvNeXt V2. Never the classification head (it trains whole)."
        },
    )
    lora_save: str = field(
        default="merged",
        metadata={
            "help": "How a LoRA model is saved: 'merged' (adapters folded into the weights: a plain "
            "checkpoint that needs no peft) or 'adapter' (the adapters + head in adapter/, with a reference "
            "to the base checkpoint, which is downloaded when the model is loaded; needs peft).",
            "choices": list(LORA_SAVES),
        },
    )

    def validate_tuning(self, freeze_backbone: bool = False) -> None:
        """Check the values (``parse_dict`` skips ``choices``); ``--freeze_backbone`` is a linear probe."""
        for name, allowed in (("tuning", TUNING_MODES), ("pooling", POOLINGS), ("lora_save", LORA_SAVES)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"--{name} {getattr(self, name)!r} is not one of {', '.join(allowed)}.")
        if freeze_backbone:
            if self.tuning not in ("full", "linear_probe"):
                raise ConfigError(
                    f"--freeze_backbone is --tuning linear_probe; it cannot be combined with --tuning "
                    f"{self.tuning}. Drop one of them."
                )
            self.tuning = "linear_probe"
        if self.lora_r < 1 or self.lora_alpha <= 0 or not 0.0 <= self.lora_dropout < 1.0:
            raise ConfigError(
                f"LoRA needs --lora_r >= 1, --lora_alpha > 0, 0 <= --lora_dropout < 1 (got r={self.lora_r}, "
                f"alpha={self.lora_alpha}, dropout={self.lora_dropout})."
            )
        if not 0.0 <= self.head_dropout < 1.0:
            raise ConfigError(f"--head_dropout must be in [0, 1), got {self.head_dropout}.")
        if isinstance(self.lora_target_modules, str):
            self.lora_target_modules = [self.lora_target_modules]
