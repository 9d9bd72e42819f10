"""Run the whole pipeline on the embedded demo data, offline, in a few minutes on a laptop CPU.

Steps: write the demo dataset (64 px real face crops vs. re-synthesised fakes, Kaggle layout) to
OUTPUT_DIR/data unless it is already there; train the report's seed CNN (recipes/demo_cnn.yaml) and a
small ViT built from a config (recipes/demo_vit.yaml); evaluate each on the test split; print a results
table (logged, and written to OUTPUT_DIR/results.md and results.json).

Each model's folder (OUTPUT_DIR/cnn, OUTPUT_DIR/vit) follows the training output contract: it loads with
pipeline("image-classification", model=DIR) and holds the evaluation report in DIR/evaluation/ (metrics at
the model's decision rule, TPR at low FPR, calibration, plots, robustness table, gallery; about 15 s of the
run), embedded in DIR/README.md. A threshold is tuned and folded into the weights only when the validation
split has at least 50 images per class. Extra flags are passed to both trainings, e.g. --num_train_epochs 2
for a quicker run, --evaluation_report false to skip the report.
The recipes come from the source checkout (run from a clone, as `make demo` does) or --recipes-dir.
A re-run replaces the demo's models in OUTPUT_DIR/cnn and OUTPUT_DIR/vit.

Example:
  hf-aidetect demo --output-dir outputs/demo
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "demo"
HELP = "Demo end to end: build demo data, train the CNN and a small ViT, log a test results table."
ORDER = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output-dir", type=Path, default=Path("outputs/demo"), help="Where everything goes (outputs/demo)."
    )
    parser.add_argument(
        "--models",
        nargs="+",
        choices=("cnn", "vit"),
        default=["cnn", "vit"],
        help="Which demo models to train.",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="Demo data folder (default OUTPUT_DIR/data; built if absent).",
    )
    parser.add_argument(
        "--regenerate-data", action="store_true", help="Rebuild the demo data even if present."
    )
    parser.add_argument(
        "--recipes-dir", type=Path, default=None, help="Folder holding demo_cnn.yaml / demo_vit.yaml."
    )
    parser.set_defaults(_accepts_extra=True)


def run(args: argparse.Namespace) -> int:
    from hf_aidetect.training.demo import results_table, run_demo

    results = run_demo(
        args.output_dir,
        args.models,
        extra_args=args.extra_args,
        recipes_dir=args.recipes_dir,
        data_dir=args.data_dir,
        regenerate_data=args.regenerate_data,
    )
    # The table is the command's result: stdout, so it stays visible under --quiet and can be piped.
    sys.stdout.write(results_table(results) + "\n")
    return 0
