"""Model card lines about the pre-trained backbone, how much of it was tuned, and how a LoRA model is saved.

Read from ``config.json``: ``tuning`` (written by :mod:`hf_aidetect.models.tuning` for every run: mode,
trainable and published parameter counts, LoRA settings), and for hf_aidetect's backbone head
``backbone_config`` / ``backbone_checkpoint`` / ``pooling`` / ``adapter`` (set on an adapter-form save).
"""

from __future__ import annotations

from typing import Any

from hf_aidetect.models.backbones.configuration_backbone_detector import FAMILY_NAMES
from hf_aidetect.publishing.card_inputs import is_hub_id

POOLING_TEXT = {
    "cls": "the class token after the final norm",
    "mean": "the mean of the patch tokens",
    "attention": "a learned query attending over the patch tokens (attention pooling)",
    "map": "SigLIP's pre-trained attention-pooling head",
}
MODE_TEXT = {
    "full": "**full fine-tuning** (every weight)",
    "linear_probe": "a **linear probe** (the backbone frozen, only the head trained)",
    "layernorm": "**LayerNorm-only tuning** (the backbone's normalisation layers and the head)",
    "lora": "**LoRA**",
}


def backbone_summary(config: dict[str, Any]) -> dict[str, Any]:
    """Family, checkpoint and pooling of a backbone-head model's ``config.json`` (empty for others)."""
    backbone = config.get("backbone_config")
    if not isinstance(backbone, dict):
        return {}
    family = str(backbone.get("model_type"))
    return {
        "family": FAMILY_NAMES.get(family, family),
        "checkpoint": config.get("backbone_checkpoint"),
        "pooling": config.get("pooling"),
    }


def _link(reference: str | None) -> str:
    if not reference:
        return "a randomly initialised backbone"
    return (
        f"[`{reference}`](https://huggingface.co/{reference})" if is_hub_id(reference) else f"`{reference}`"
    )


def _lora_text(lora: dict[str, Any]) -> str:
    targets = lora.get("target_modules")
    if isinstance(targets, str):
        targets = [targets]
    targets = ", ".join(f"`{name}`" for name in targets or [])
    where = f"; {lora['adapted_modules']} modules: {targets}" if lora.get("adapted_modules") else ""
    return (
        f" (rank {lora.get('r')}, alpha {lora.get('alpha')}, dropout {lora.get('dropout')}{where}) + the head"
    )


def tuning_text(tuning: dict[str, Any], backbone: dict[str, Any], adapter: dict[str, Any]) -> str:
    """Markdown bullets: backbone and pooling, the tuning mode with its counts, the saved form."""
    lines = []
    if backbone:
        pooling = POOLING_TEXT.get(backbone.get("pooling"), backbone.get("pooling"))
        lines.append(
            f"- **Backbone**: {backbone['family']} from {_link(backbone.get('checkpoint'))}, read through "
            f"hf_aidetect's backbone head: {pooling}, then a linear layer with a bias (real / fake logits)."
        )
    if tuning:
        mode = str(tuning.get("mode"))
        detail = _lora_text(tuning.get("lora") or {}) if mode == "lora" else ""
        trainable, total = tuning.get("trainable_parameters"), tuning.get("total_parameters")
        counts = ""
        if trainable is not None and total:
            counts = (
                f": **{int(trainable):,} of {int(total):,} parameters trained "
                f"({float(tuning.get('trainable_percent', 100 * trainable / total)):.4g} %)**"
            )
        lines.append(f"- **Tuning**: {MODE_TEXT.get(mode, mode)}{detail}{counts}.")
        if mode == "lora":
            lines.append(f"- **Saved as**: {_saved_form(adapter)}")
    return "\n".join(lines)


def _saved_form(adapter: dict[str, Any]) -> str:
    if not adapter:
        return (
            "merged weights: the adapters are folded into the backbone, so this is a plain checkpoint "
            "and loading it needs no `peft`."
        )
    base = adapter.get("base_model")
    return (
        f"a **LoRA adapter** with the trained head in `{adapter.get('subfolder', 'adapter')}/` (peft "
        f"format), on the base model {_link(base)}. Loading this model needs `peft` (`pip install peft`) and "
        "downloads the base model; the model's code rebuilds the backbone from it and merges the adapter, "
        "so `pipeline` works as usual."
    )
