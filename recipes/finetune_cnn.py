"""Train the report's seed CNN (real vs fake faces) with the shared hf_aidetect Trainer path.

Launch (every flag overrides the YAML; --dataset takes a folder, an archive or a Hub dataset id):

    python recipes/finetune_cnn.py --config recipes/cnn_seed.yaml \
        --dataset PATH_OR_HUB_ID --output_dir outputs/cnn
    accelerate launch --config_file recipes/accelerate_configs/single_gpu.yaml recipes/finetune_cnn.py \
        --config recipes/cnn_seed.yaml --dataset PATH_OR_HUB_ID --output_dir outputs/cnn
    hf-aidetect train --config recipes/cnn_seed.yaml --dataset PATH_OR_HUB_ID --output_dir outputs/cnn

Without --config, recipes/cnn_seed.yaml is used. The demo setting (CPU, minutes):
    python recipes/finetune_cnn.py --config recipes/demo_cnn.yaml \
        --dataset DEMO_DIR --output_dir outputs/demo_cnn
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hf_aidetect.training import train
from hf_aidetect.training.launch import run_recipe

DEFAULT_CONFIG = Path(__file__).with_name("cnn_seed.yaml")


def main(script_args: Any, training_args: Any, model_args: Any) -> dict[str, Any]:
    """Train + evaluate; returns the metrics written to OUTPUT_DIR/all_results.json."""
    return train(script_args, training_args, model_args)


if __name__ == "__main__":
    sys.exit(run_recipe(main, default_config=DEFAULT_CONFIG))
