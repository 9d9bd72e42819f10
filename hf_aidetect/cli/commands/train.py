"""Fine-tune a real-vs-fake detector (the seed CNN, a ViT or any image classifier) from a recipe.

A recipe is a flat YAML file of argument names (see recipes/*.yaml); every flag given here overrides the
YAML value of the same name, and an unknown name in either is an error. Flags use the recipe names with
underscores: --dataset PATH_OR_HUB_ID, --output_dir DIR, --model_type / --model_name_or_path, any
transformers TrainingArguments flag (--num_train_epochs, --learning_rate, --bf16, --report_to, ...) and the
data options (--class_weights auto, --jpeg_prob, --max_train_samples, ...). --list-flags shows them all.

OUTPUT_DIR receives the best checkpoint's exact weights + image processor (loads with
pipeline("image-classification", model=OUTPUT_DIR)), all_results.json (validation_* and test_* metrics),
trainer_state.json, epoch_metrics.csv, data_summary.json and README.md (model card). An OUTPUT_DIR that
already holds a trained model is refused (before any data loads) unless the run resumes it
(--resume_from_checkpoint last: the newest complete checkpoint; incomplete ones are skipped and logged) or
--overwrite_output_dir true replaces it. Checkpoints appear only when complete.

Examples:
  hf-aidetect train --config recipes/demo_cnn.yaml --dataset outputs/demo/data --output_dir outputs/cnn
  hf-aidetect train --config recipes/vit_base.yaml --dataset ./real-vs-fake --output_dir out/vit --bf16 true
  accelerate launch recipes/finetune_vit.py --config recipes/vit_base.yaml ...   (multi-GPU: same flags)
"""

from __future__ import annotations

import argparse
import logging
import sys

NAME = "train"
HELP = "Fine-tune a detector from a recipe YAML (flags override it)."
ORDER = 10

logger = logging.getLogger("hf_aidetect.cli.train")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="FILE", default=None, help="Recipe YAML (e.g. recipes/vit_base.yaml)."
    )
    parser.add_argument(
        "--list-flags", action="store_true", help="Show every recipe flag with its default, then exit."
    )
    parser.set_defaults(_accepts_extra=True)


def run(args: argparse.Namespace) -> int:
    from transformers import HfArgumentParser

    from hf_aidetect.training import parse_recipe_args, train
    from hf_aidetect.training.config import default_dataclass_types

    if args.list_flags:
        HfArgumentParser(default_dataclass_types()).print_help(sys.stdout)
        return 0
    argv = (["--config", args.config] if args.config else []) + list(args.extra_args)
    results = train(*parse_recipe_args(argv))
    logger.info(
        "Test accuracy %.4f, test ROC-AUC %.4f.", results.get("test_accuracy"), results.get("test_roc_auc")
    )
    return 0
