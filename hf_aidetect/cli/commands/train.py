"""Fine-tune a real-vs-fake detector (the seed CNN, a ViT or any image classifier) from a recipe.

--config takes a shipped recipe by name (`hf-aidetect recipes`: vit_base, vit_seed, cnn_seed, demo_cnn,
demo_vit) or a YAML file of argument names; every flag given here overrides the recipe's value of the
same name, and an unknown name in either is an error. Without --config (and without --model_type /
--model_name_or_path) the model is ViT-B/16 (google/vit-base-patch16-224-in21k). Flags are the recipe
names, in either spelling (--output_dir / --output-dir): --dataset PATH_OR_HUB_ID, --output_dir DIR,
--model_type / --model_name_or_path, any transformers TrainingArguments flag (--num_train_epochs,
--learning_rate, --bf16, --report_to tensorboard, ...), early stopping (--early_stopping_patience N), the
card (--license, --dataset_name, --card_widget) and the data options (--class_weights auto, --jpeg_prob,
...). The other commands' names work too: --batch-size, --num-workers, --device cpu.
--list-flags shows them all, by concern; --dry-run shows what a run would do and trains nothing.

OUTPUT_DIR receives the best checkpoint's exact weights + image processor (loads with
pipeline("image-classification", model=OUTPUT_DIR)), all_results.json (validation_* and test_* metrics),
trainer_state.json, epoch_metrics.csv, data_summary.json, evaluation/ and README.md (model card). An
OUTPUT_DIR that already holds a trained model is refused (before any data loads) unless the run resumes it
(--resume_from_checkpoint last: the newest complete checkpoint; incomplete ones are skipped and logged) or
--overwrite_output_dir true replaces it. Checkpoints appear only when complete; after Ctrl-C the error line
gives the command that resumes.

Examples:
  hf-aidetect train --config demo_cnn --dataset outputs/demo/data --output_dir outputs/cnn
  hf-aidetect train --config vit_base --dataset ./real-vs-fake --output_dir out/vit --batch-size 64
  hf-aidetect train --config vit_base --dataset ./real-vs-fake --output_dir out/vit --dry-run
  accelerate launch recipes/finetune_vit.py --config vit_base ...   (multi-GPU: the same flags)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hf_aidetect.cli.parser import CommandParser

NAME = "train"
HELP = "Fine-tune a detector from a recipe (a shipped name or a YAML file; flags override it)."
ORDER = 10


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--config",
        metavar="RECIPE",
        default=None,
        help="Recipe: a shipped name (vit_base, ...) or a YAML file.",
    )
    parser.add_argument(
        "--list-flags",
        action="store_true",
        help="Show every recipe flag by concern with its default (the recipe's, with --config), then exit.",
    )
    parser.add_argument(
        "--all", dest="all_flags", action="store_true", help="With --list-flags: also the hidden flags."
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="Show the resolved config, the data counts and the model size; train nothing, write nothing.",
    )
    parser.set_defaults(_accepts_extra=True)


def _argv(args: argparse.Namespace) -> list[str]:
    argv = (["--config", args.config] if args.config else []) + list(args.extra_args)
    given = {token[2:].split("=")[0].replace("-", "_") for token in argv if token.startswith("--")}
    if args.quiet and "disable_tqdm" not in given:
        argv += ["--disable_tqdm", "true"]  # -q: no training bar either
    return argv


def run(args: argparse.Namespace) -> int:
    from hf_aidetect.training import parse_recipe_args, train

    if args.list_flags:
        from hf_aidetect.training.config import argument_groups, flatten_config, load_yaml_config
        from hf_aidetect.training.flags import describe_flags

        values = {}
        if args.config:
            values = flatten_config(load_yaml_config(args.config), args.config, argument_groups())
        sys.stdout.write(describe_flags(values, show_all=args.all_flags))
        return 0
    argv = _argv(args)
    script_args, training_args, model_args = parse_recipe_args(argv)
    args._resume = (argv, Path(training_args.output_dir))  # for the Ctrl-C advice
    if args.dry_run:
        from hf_aidetect.training.dry_run import describe_run

        sys.stdout.write(describe_run(script_args, training_args, model_args))
        return 0
    train(script_args, training_args, model_args)  # logs a summary of where everything went
    return 0


def interrupted(args: argparse.Namespace) -> str | None:
    """After Ctrl-C: the command that resumes from the newest complete checkpoint (or re-runs)."""
    if not getattr(args, "_resume", None):
        return None
    from hf_aidetect.training.launch import resume_advice

    argv, output_dir = args._resume
    return resume_advice(["hf-aidetect", "train"], argv, output_dir)
