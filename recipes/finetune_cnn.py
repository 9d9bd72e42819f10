"""Train the report's seed CNN (real vs fake faces) with the shared hf_aidetect Trainer path.

Launch (--config takes a shipped recipe's name, see `hf-aidetect recipes`, or your own YAML; every flag
overrides it; --dataset takes a folder, an archive or a Hub dataset id):

    python recipes/finetune_cnn.py --config cnn_seed --dataset PATH_OR_HUB_ID --output_dir outputs/cnn
    accelerate launch --config_file recipes/accelerate_configs/single_gpu.yaml recipes/finetune_cnn.py \
        --config cnn_seed --dataset PATH_OR_HUB_ID --output_dir outputs/cnn
    hf-aidetect train --config cnn_seed --dataset PATH_OR_HUB_ID --output_dir outputs/cnn

Without --config, cnn_seed is used. The demo setting (CPU, minutes):
    python recipes/finetune_cnn.py --config demo_cnn --dataset DEMO_DIR --output_dir outputs/demo_cnn
"""

from __future__ import annotations

import sys
from typing import Any

from hf_aidetect.training import train
from hf_aidetect.training.launch import run_recipe

DEFAULT_CONFIG = "cnn_seed"  # a shipped recipe (hf-aidetect recipes); --config FILE_OR_NAME overrides


def main(script_args: Any, training_args: Any, model_args: Any) -> dict[str, Any]:
    """Train + evaluate; returns the metrics written to OUTPUT_DIR/all_results.json."""
    return train(script_args, training_args, model_args)


if __name__ == "__main__":
    sys.exit(run_recipe(main, default_config=DEFAULT_CONFIG))
