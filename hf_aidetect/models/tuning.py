"""How much of a model trains: ``--tuning full | linear_probe | layernorm | lora``, counted and recorded.

* ``full``: every weight.
* ``linear_probe``: the head only (for the backbone head: the pooling + the linear layer). Our backbone
  head then runs the backbone under ``torch.no_grad`` in eval mode; for any other model the frozen
  weights build no autograd graph anyway (no input of theirs needs a gradient).
* ``layernorm``: the head and every normalisation layer of the backbone (LayerNorm / GroupNorm /
  BatchNorm / RMSNorm scales and shifts), as in GenD.
* ``lora``: low-rank adapters on the backbone's projections plus the whole head, through ``peft``
  (:mod:`hf_aidetect.models.lora`).

The count is logged and written to ``config.tuning`` (mode, trainable parameters, parameters of the model as
published, their percentage, the LoRA settings), which the model card reads.
"""

from __future__ import annotations

import logging
from typing import Any

from torch import nn
from transformers import PreTrainedModel

from hf_aidetect.errors import ConfigError
from hf_aidetect.models.tuning_arguments import TuningArguments

logger = logging.getLogger(__name__)

HEAD_PREFIXES = ("classifier", "cls_classifier", "distillation_classifier", "head", "fc")
NORM_TYPES: tuple[type[nn.Module], ...] = (
    nn.LayerNorm,
    nn.GroupNorm,
    nn.modules.batchnorm._BatchNorm,
    nn.RMSNorm,
)
NORM_SUFFIXES = ("LayerNorm", "RMSNorm", "GroupNorm", "BatchNorm")


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of (trainable) parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def backbone_prefix(model: nn.Module) -> str | None:
    """The attribute holding the backbone (``base_model_prefix``), when the model has one besides its head."""
    prefix = getattr(model, "base_model_prefix", "")
    base = getattr(model, prefix, None) if prefix else None
    return prefix if isinstance(base, nn.Module) and base is not model else None


def head_modules(model: nn.Module) -> list[str]:
    """Names of the top-level modules outside the backbone that hold parameters: the head."""
    prefix = backbone_prefix(model)
    return [
        name
        for name, child in model.named_children()
        if any(True for _ in child.parameters()) and (name != prefix if prefix else name in HEAD_PREFIXES)
    ]


def is_norm(module: nn.Module) -> bool:
    """Normalisation layers, including the families' own LayerNorm subclasses and renamed copies."""
    return isinstance(module, NORM_TYPES) or type(module).__name__.endswith(NORM_SUFFIXES)


def _train_only(model: nn.Module, keep: set[str], mode: str) -> None:
    """``requires_grad`` on exactly the parameters named in ``keep``."""
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name in keep
    if not keep:
        raise ConfigError(f"--tuning {mode}: {type(model).__name__} has no head to train; use --tuning full.")


def head_parameter_names(model: nn.Module) -> set[str]:
    heads = head_modules(model)
    if not heads or count_parameters(model) == sum(
        p.numel() for n, p in model.named_parameters() if n.split(".")[0] in heads
    ):
        raise ConfigError(
            f"cannot tell the classification head of {type(model).__name__} from its backbone; "
            "train it with --tuning full."
        )
    return {name for name, _ in model.named_parameters() if name.split(".")[0] in heads}


def norm_parameter_names(model: nn.Module) -> set[str]:
    names = set()
    for module_name, module in model.named_modules():
        if is_norm(module):
            names.update(f"{module_name}.{name}" for name, _ in module.named_parameters(recurse=False))
    return names


def apply_tuning(model: PreTrainedModel, args: TuningArguments) -> nn.Module:
    """``model`` with only ``args.tuning``'s weights trainable (a ``PeftModel`` for LoRA), counted."""
    mode = args.tuning
    total = count_parameters(model)
    if hasattr(model.config, "frozen_backbone"):  # a saved probe trained on with another mode thaws
        model.config.frozen_backbone = mode == "linear_probe"
        model.train(model.training)  # a frozen backbone goes to eval mode now
    if mode == "linear_probe":
        _train_only(model, head_parameter_names(model), mode)
    elif mode == "layernorm":
        heads = head_parameter_names(model)
        norms = norm_parameter_names(model) - heads
        if not norms:
            raise ConfigError(f"--tuning layernorm: {type(model).__name__} has no normalisation layers.")
        _train_only(model, heads | norms, mode)
    elif mode == "lora":
        from hf_aidetect.models.lora import apply_lora

        model = apply_lora(model, args, head_modules(model), backbone_prefix(model))
    record = tuning_record(model, mode, total, args)
    config = model.config
    config.tuning = record
    logger.info(
        "Tuning %s: %s of %s parameters trainable (%.4g%%).",
        mode,
        f"{record['trainable_parameters']:,}",
        f"{record['total_parameters']:,}",
        record["trainable_percent"],
    )
    return model


def tuning_record(model: nn.Module, mode: str, total: int, args: TuningArguments) -> dict[str, Any]:
    """What ``config.tuning`` says: the mode, trainable / published parameter counts, the LoRA settings."""
    trainable = count_parameters(model, trainable_only=True)
    record: dict[str, Any] = {
        "mode": mode,
        "trainable_parameters": trainable,
        "total_parameters": total,
        "trainable_percent": round(100.0 * trainable / max(total, 1), 6),
    }
    if mode == "lora":
        peft_config = model.peft_config["default"]
        record["lora"] = {
            "r": int(peft_config.r),
            "alpha": int(peft_config.lora_alpha),
            "dropout": float(peft_config.lora_dropout),
            "target_modules": list(getattr(model, "lora_target_names", None) or [peft_config.target_modules]),
            "target_pattern": peft_config.target_modules,
            "adapted_modules": sum(
                1 for m in model.modules() if hasattr(m, "lora_A") and hasattr(m, "base_layer")
            ),
            "save": args.lora_save,
        }
    return record
