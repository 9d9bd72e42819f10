"""Model specs shared by the training, predict and end-to-end cases (built from configs: no Hub access)."""

from __future__ import annotations

from typing import Any

# ViT-B/16 forward at 224 px: ~17.6 GFLOPs per image; a training step ~3x that (forward + backward).
VIT_B16_TRAIN_GFLOP_PER_IMAGE = 3 * 17.6
# Dense bf16 tensor-core peaks (TFLOP/s) for the GPUs this suite may meet; matched by substring.
BF16_PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0}

SPECS: dict[str, dict[str, Any]] = {
    "cnn224": {"label": "seed CNN @224", "model_type": "seed_cnn", "image_size": 224, "overrides": {}},
    "vit_small": {
        "label": "small ViT (ViT-Ti/16 shape) @224",
        "model_type": "vit",
        "image_size": 224,
        "overrides": {
            "patch_size": 16,
            "hidden_size": 192,
            "num_hidden_layers": 12,
            "num_attention_heads": 3,
            "intermediate_size": 768,
        },
    },
    "vit_b16": {"label": "ViT-B/16 @224", "model_type": "vit", "image_size": 224, "overrides": {}},
}


def build(name: str, attn_implementation: str | None = None) -> tuple[Any, Any]:
    """(model, image_processor) for spec ``name`` through the package's own ``build_model``."""
    from hf_aidetect.models.arguments import ModelArguments
    from hf_aidetect.models.factory import build_model

    spec = SPECS[name]
    args = ModelArguments(
        model_type=spec["model_type"],
        image_size=spec["image_size"],
        config_overrides=dict(spec["overrides"]),
        attn_implementation=attn_implementation if spec["model_type"] != "seed_cnn" else None,
    )
    return build_model(args)


def bf16_peak_tflops(device_name: str | None) -> float | None:
    """The dense bf16 peak of a known GPU name, else None."""
    for key, peak in BF16_PEAK_TFLOPS.items():
        if device_name and key in device_name:
            return peak
    return None
