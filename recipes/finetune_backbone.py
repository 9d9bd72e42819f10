"""Fine-tune a pre-trained vision backbone (CLIP, SigLIP 2, DINOv2 / DINOv3, ConvNeXt V2) as a real / fake
detector, fully or parameter-efficiently, with the shared hf_aidetect Trainer path.

Launch (every flag overrides the YAML; --dataset takes a folder, an archive or a Hub dataset id):

    python recipes/finetune_backbone.py --config clip_vitl14_lora \
        --dataset PATH_OR_HUB_ID --output_dir outputs/clip_lora
    accelerate launch --config_file recipes/accelerate_configs/single_gpu.yaml recipes/finetune_backbone.py \
        --config dinov2_linear_probe --dataset PATH_OR_HUB_ID --output_dir outputs/dinov2_probe
    hf-aidetect train --config siglip2_layernorm --dataset DATA --output_dir outputs/siglip2

Recipes (shipped in hf_aidetect/recipes/, taken by name): clip_vitl14_lora (LoRA), dinov2_linear_probe
(linear probe), siglip2_layernorm (LayerNorm-only), convnextv2_full (full fine-tuning); any of them takes
--tuning, --pooling, --lora_r / --lora_alpha / --lora_dropout / --lora_target_modules and --lora_save
merged|adapter. Without --config, clip_vitl14_lora is used. Offline (tiny random twins of each family,
for trying the pipeline): python -m hf_aidetect.models.backbones.twins outputs/twins, then
--model_name_or_path outputs/twins/clip.
"""

from __future__ import annotations

import sys
from typing import Any

from hf_aidetect.training import train
from hf_aidetect.training.launch import run_recipe

DEFAULT_CONFIG = "clip_vitl14_lora"  # a shipped recipe (hf-aidetect recipes); --config FILE_OR_NAME overrides


def main(script_args: Any, training_args: Any, model_args: Any) -> dict[str, Any]:
    """Train + evaluate; returns the metrics written to OUTPUT_DIR/all_results.json."""
    return train(script_args, training_args, model_args)


if __name__ == "__main__":
    sys.exit(run_recipe(main, default_config=DEFAULT_CONFIG))
