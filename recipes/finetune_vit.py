"""Train a Vision Transformer (real vs fake faces) with the shared hf_aidetect Trainer path.

Launch (every flag overrides the YAML; --dataset takes a folder, an archive or a Hub dataset id):

    python recipes/finetune_vit.py --config recipes/vit_base.yaml \
        --dataset PATH_OR_HUB_ID --output_dir outputs/vit
    accelerate launch --config_file recipes/accelerate_configs/single_gpu.yaml recipes/finetune_vit.py \
        --config recipes/vit_base.yaml --dataset PATH_OR_HUB_ID --output_dir outputs/vit
    hf-aidetect train --config recipes/vit_base.yaml --dataset PATH_OR_HUB_ID --output_dir outputs/vit

Without --config, recipes/vit_base.yaml is used (ViT-B/16 in21k from the Hub; recipes/vit_seed.yaml is the
report's batch-32 / lr-1e-3 SGD setting). Multi-GPU: --config_file recipes/accelerate_configs/multi_gpu.yaml.
The demo setting (a small ViT built from a config, offline, CPU, minutes):
    python recipes/finetune_vit.py --config recipes/demo_vit.yaml \
        --dataset DEMO_DIR --output_dir outputs/demo_vit
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hf_aidetect.training import train
from hf_aidetect.training.launch import run_recipe

DEFAULT_CONFIG = Path(__file__).with_name("vit_base.yaml")


def main(script_args: Any, training_args: Any, model_args: Any) -> dict[str, Any]:
    """Train + evaluate; returns the metrics written to OUTPUT_DIR/all_results.json."""
    return train(script_args, training_args, model_args)


if __name__ == "__main__":
    sys.exit(run_recipe(main, default_config=DEFAULT_CONFIG))
