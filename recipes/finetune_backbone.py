"""Fine-tune a pre-trained vision backbone (CLIP, SigLIP 2, DINOv2 / DINOv3, ConvNeXt V2) as a real / fake
detector, fully or parameter-efficiently, with the shared hf_aidetect Trainer path.

Launch (every flag overrides the YAML; --dataset takes a folder, an archive or a Hub dataset id):

    python recipes/finetune_backbone.py --config recipes/clip_vitl14_lora.yaml \
        --dataset PATH_OR_HUB_ID --output_dir outputs/clip_lora
    accelerate launch --config_file recipes/accelerate_configs/single_gpu.yaml recipes/finetune_backbone.py \
        --config recipes/dinov2_linear_probe.yaml --dataset PATH_OR_HUB_ID --output_dir outputs/dinov2_probe
    hf-aidetect train --config recipes/siglip2_layernorm.yaml --dataset DATA --output_dir outputs/siglip2

Recipes: clip_vitl14_lora.yaml (LoRA), dinov2_linear_probe.yaml (linear probe), siglip2_layernorm.yaml
(LayerNorm-only), convnextv2_full.yaml (full fine-tuning); any of them takes --tuning, --pooling,
--lora_r / --lora_alpha / --lora_dropout / --lora_target_modules and --lora_save merged|adapter. Without
--config, recipes/clip_vitl14_lora.yaml is used. Offline (tiny random twins of each family, for trying the
pipeline): python -m hf_aidetect.models.backbones.twins outputs/twins, then --model_name_or_path
outputs/twins/clip.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hf_aidetect.training import train
from hf_aidetect.training.launch import run_recipe

DEFAULT_CONFIG = Path(__file__).with_name("clip_vitl14_lora.yaml")


def main(script_args: Any, training_args: Any, model_args: Any) -> dict[str, Any]:
    """Train + evaluate; returns the metrics written to OUTPUT_DIR/all_results.json."""
    return train(script_args, training_args, model_args)


if __name__ == "__main__":
    sys.exit(run_recipe(main, default_config=DEFAULT_CONFIG))
