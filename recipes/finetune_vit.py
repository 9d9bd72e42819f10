"""Train a Vision Transformer (real vs fake faces) with the shared hf_aidetect Trainer path.

Launch (--config takes a shipped recipe's name, see `hf-aidetect recipes`, or your own YAML; every flag
overrides it; --dataset takes a folder, an archive or a Hub dataset id):

    python recipes/finetune_vit.py --config vit_base --dataset PATH_OR_HUB_ID --output_dir outputs/vit
    accelerate launch --config_file recipes/accelerate_configs/single_gpu.yaml recipes/finetune_vit.py \
        --config vit_base --dataset PATH_OR_HUB_ID --output_dir outputs/vit
    hf-aidetect train --config vit_base --dataset PATH_OR_HUB_ID --output_dir outputs/vit

Without --config, vit_base is used (ViT-B/16 in21k from the Hub; vit_seed is the report's batch-32 /
lr-1e-3 SGD setting). Multi-GPU: --config_file recipes/accelerate_configs/multi_gpu.yaml.
The demo setting (a small ViT built from a config, offline, CPU, minutes):
    python recipes/finetune_vit.py --config demo_vit --dataset DEMO_DIR --output_dir outputs/demo_vit
"""

from __future__ import annotations

import sys
from typing import Any

from hf_aidetect.training import train
from hf_aidetect.training.launch import run_recipe

DEFAULT_CONFIG = "vit_base"  # a shipped recipe (hf-aidetect recipes); --config FILE_OR_NAME overrides


def main(script_args: Any, training_args: Any, model_args: Any) -> dict[str, Any]:
    """Train + evaluate; returns the metrics written to OUTPUT_DIR/all_results.json."""
    return train(script_args, training_args, model_args)


if __name__ == "__main__":
    sys.exit(run_recipe(main, default_config=DEFAULT_CONFIG))
