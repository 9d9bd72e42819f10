"""Cross-generator protocol: train a recipe once per held-out generator and score that generator unseen.

DATA must name each fake image's generator: sub-folders fake/<generator>/... (or --source_column for a Hub
/ saved dataset). For every generator G, a leg trains the recipe on the real images and the fakes of every
other generator (train / validation splits; the threshold is tuned on them), then scores the real test
images and all fakes of G. OUTPUT_DIR/<G>/ holds each leg's full training output (model, evaluation
report); OUTPUT_DIR/cross_generator.md / .csv / .json the table: accuracy, fake recall, AP, ROC-AUC and TPR
at 1 % FPR (95 % bootstrap interval) per held-out generator, and their mean.

Resumable like `hf-aidetect sweep`: re-running the same command skips finished legs and resumes an
interrupted one from its last checkpoint. Other flags go to every leg's recipe (e.g. --num_train_epochs 3).

Exit status: 0 when every leg finished, 1 when a leg failed (the others still ran), 2 for usage errors.

Examples:
  hf-aidetect cross-generator --config cnn_seed --dataset data/faces --output-dir runs/xgen
  hf-aidetect cross-generator --config vit_base --dataset data/faces --output-dir runs/xgen \\
      --launch "accelerate launch --num_processes 2"
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from hf_aidetect.cli.parser import CommandParser, add_output_dir
from hf_aidetect.files.layout import CROSS_GENERATOR_MARKDOWN

NAME = "cross-generator"
HELP = "Leave-one-generator-out: train per held-out generator, table of accuracy / AP / TPR at 1 % FPR."
ORDER = 27


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--config", required=True, metavar="RECIPE", help="Recipe YAML or a shipped recipe's name (cnn_seed)."
    )
    parser.add_argument(
        "--dataset", required=True, metavar="DATA", help="Data with fake/<generator>/ folders."
    )
    add_output_dir(parser, what="Folder of the legs and the table.", required=True)
    parser.add_argument(
        "--launcher",
        choices=("subprocess", "in-process"),
        default="subprocess",
        help="Run each leg in a fresh child process (default; frees memory) or in this process.",
    )
    parser.add_argument("--launch", default=None, help="Command starting a leg instead of this Python.")
    parser.add_argument("--dry-run", action="store_true", help="Print each leg's training flags and stop.")
    parser.set_defaults(_accepts_extra=True)


def run(args: argparse.Namespace) -> int:
    from hf_aidetect.training import cross_generator as protocol
    from hf_aidetect.training import sweep

    extra = list(args.extra_args or [])
    if args.dry_run:
        legs, _ = protocol.plan_legs(args.config, args.dataset, args.output_dir, extra)
        for leg in legs:
            status = "done" if leg.is_done else "todo"
            print(f"{leg.source} [{status}]: {shlex.join(protocol.leg_argv(args.config, leg, extra))}")
        return 0
    if args.launcher == "in-process":
        runner = sweep.run_point_in_process
    else:
        runner = sweep.SubprocessRunner(shlex.split(args.launch) if args.launch else ())
    _, failed = protocol.run_cross_generator(args.config, args.dataset, args.output_dir, extra, runner=runner)
    print((Path(args.output_dir) / CROSS_GENERATOR_MARKDOWN).read_text(encoding="utf-8"))
    if failed:
        print(f"Failed legs (re-run to retry): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
