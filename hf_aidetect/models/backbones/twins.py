"""Tiny offline twins of the recipes' backbone checkpoints: the same families, 2 layers, hidden size 32.

Each twin is saved the way its Hub checkpoint is (a full CLIP / SigLIP / SigLIP 2 model with its text
tower, DINO base models, a ConvNeXt V2 classifier) with the family's ``preprocessor_config.json``
normalisation, so ``--model_name_or_path TWIN_DIR`` goes through exactly the loading path of the real
checkpoint. The weights are random: twins test the machinery (and give smoke numbers), never quality.

    python -m hf_aidetect.models.backbones.twins OUT_DIR [FAMILY ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from transformers import PreTrainedModel
from transformers.image_utils import (
    IMAGENET_DEFAULT_MEAN,
    IMAGENET_DEFAULT_STD,
    OPENAI_CLIP_MEAN,
    OPENAI_CLIP_STD,
)

from hf_aidetect.files.layout import PREPROCESSOR_CONFIG

TOWER = {"num_hidden_layers": 2, "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2}
DINOV2 = {**{k: v for k, v in TOWER.items() if k != "intermediate_size"}, "mlp_ratio": 2}  # MLP width 64
TEXT = {**TOWER, "vocab_size": 64, "max_position_embeddings": 16, "bos_token_id": 0, "eos_token_id": 1}


def _clip(size: int) -> PreTrainedModel:
    from transformers import CLIPConfig, CLIPModel

    vision = {**TOWER, "image_size": size, "patch_size": 8}
    return CLIPModel(CLIPConfig(vision_config=vision, text_config=TEXT, projection_dim=32))


def _siglip(size: int) -> PreTrainedModel:
    from transformers import SiglipConfig, SiglipModel

    return SiglipModel(
        SiglipConfig(vision_config={**TOWER, "image_size": size, "patch_size": 8}, text_config=TEXT)
    )


def _siglip2(size: int) -> PreTrainedModel:
    from transformers import Siglip2Config, Siglip2Model

    vision = {**TOWER, "num_patches": (size // 8) ** 2, "patch_size": 8}
    return Siglip2Model(Siglip2Config(vision_config=vision, text_config=TEXT))


def _dinov2(size: int) -> PreTrainedModel:
    from transformers import Dinov2Config, Dinov2Model

    return Dinov2Model(Dinov2Config(**DINOV2, image_size=size, patch_size=8))


def _dinov2_registers(size: int) -> PreTrainedModel:
    from transformers import Dinov2WithRegistersConfig, Dinov2WithRegistersModel

    config = Dinov2WithRegistersConfig(**DINOV2, image_size=size, patch_size=8, num_register_tokens=2)
    return Dinov2WithRegistersModel(config)


def _dinov3(size: int) -> PreTrainedModel:
    from transformers import DINOv3ViTConfig, DINOv3ViTModel

    return DINOv3ViTModel(DINOv3ViTConfig(**TOWER, image_size=size, patch_size=8, num_register_tokens=2))


def _convnextv2(size: int) -> PreTrainedModel:
    from transformers import ConvNextV2Config, ConvNextV2ForImageClassification

    config = ConvNextV2Config(
        depths=[1, 1], hidden_sizes=[16, 32], num_stages=2, image_size=size, num_labels=10
    )
    return ConvNextV2ForImageClassification(config)


BUILDERS: dict[str, tuple[Callable[[int], PreTrainedModel], tuple, tuple]] = {
    "clip": (_clip, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD),
    "siglip": (_siglip, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "siglip2": (_siglip2, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "dinov2": (_dinov2, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD),
    "dinov2_with_registers": (_dinov2_registers, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD),
    "dinov3_vit": (_dinov3, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD),
    "convnextv2": (_convnextv2, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD),
}
FAMILIES = tuple(BUILDERS)


def write_twin(family: str, folder: str | Path, image_size: int = 32, seed: int = 0) -> Path:
    """Save the tiny twin of ``family`` (see :data:`FAMILIES`) into ``folder``; returns the folder."""
    if family not in BUILDERS:
        raise ValueError(f"unknown backbone family {family!r}; choose from {', '.join(FAMILIES)}")
    build, mean, std = BUILDERS[family]
    folder = Path(folder)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build(image_size)
    model.save_pretrained(folder)
    processor = {
        "image_mean": list(mean),
        "image_std": list(std),
        "resample": 3,
        "do_resize": True,
        "size": {"shortest_edge": image_size},
        "do_center_crop": True,
        "crop_size": {"height": image_size, "width": image_size},
        "do_normalize": True,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "image_processor_type": "BitImageProcessor",
    }
    (folder / PREPROCESSOR_CONFIG).write_text(json.dumps(processor, indent=2) + "\n", encoding="utf-8")
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write tiny random backbone checkpoints (offline twins).")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("families", nargs="*", default=list(FAMILIES), help=", ".join(FAMILIES))
    parser.add_argument("--image-size", type=int, default=32)
    args = parser.parse_args(argv)
    for family in args.families:
        write_twin(family, args.out_dir / family, image_size=args.image_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
