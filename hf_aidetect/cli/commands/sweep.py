"""Run a hyper-parameter sweep: one training run per grid point of a sweep YAML, resumable.

SWEEP_FILE names a base recipe, a grid and an output root (`hf-aidetect recipes` lists the shipped grids,
taken by name: cnn_grid, vit_grid). Every point trains into its own folder OUTPUT_ROOT/<NN>_<params>/ (set
by --output-dir) with the full training output (model, all_results.json, ...).
Points whose all_results.json exists are skipped, so re-running the same command after an interruption
finishes the sweep; an interrupted point resumes from its last checkpoint. Afterwards OUTPUT_ROOT holds
results.csv, results.md (train / validation / test accuracy, per-class test recall, ROC-AUC, wall time)
and sweep_summary.json naming the best point by the sweep's select_metric (validation accuracy by default).

Any other flag is passed to every point's recipe, e.g. --dataset PATH_OR_HUB_ID, --num_train_epochs 3.

--optuna N instead runs an Optuna search (N trials, pip install 'hf_aidetect[optuna]') over the grid's
TrainingArguments keys through Trainer.hyperparameter_search: numeric ranges become log-uniform ranges
between the grid's smallest and largest value, other keys a choice among the grid values. The study is
stored in OUTPUT_ROOT/optuna/study.db, so re-running continues it up to N trials.

Exit status: 0 when every point finished, 1 when a point failed (the others still ran), 2 for usage errors.

Examples:
  hf-aidetect sweep cnn_grid --dataset data/faces
  hf-aidetect sweep vit_grid --dataset user/faces --launch "accelerate launch"
  hf-aidetect sweep my_grid.yaml --dataset data/faces --optuna 20
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys

from hf_aidetect.cli.parser import CommandParser, add_output_dir

logger = logging.getLogger(__name__)

NAME = "sweep"
HELP = "Run a resumable hyper-parameter grid (or Optuna search) over a training recipe."
ORDER = 25


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "sweep_file", metavar="SWEEP_FILE", help="Sweep YAML, or a shipped grid's name (cnn_grid, vit_grid)."
    )
    add_output_dir(
        parser,
        what="Folder of the points and tables (default: the file's output_root).",
        aliases=["--output-root"],
    )
    parser.add_argument(
        "--launcher",
        choices=("subprocess", "in-process"),
        default="subprocess",
        help="Run each point in a fresh child process (default; frees memory) or in this process.",
    )
    parser.add_argument(
        "--launch",
        default=None,
        help="Command that starts a point's child process instead of this Python, e.g. "
        "'accelerate launch --num_processes 2'.",
    )
    parser.add_argument("--optuna", type=int, default=None, metavar="N_TRIALS", help="Optuna search instead.")
    parser.add_argument("--dry-run", action="store_true", help="Print each point's training flags and stop.")
    parser.set_defaults(_accepts_extra=True)


def run(args: argparse.Namespace) -> int:
    from hf_aidetect.training import sweep

    spec = sweep.SweepSpec.from_yaml(args.sweep_file, output_root=args.output_dir)
    extra = list(args.extra_args or [])
    if args.dry_run:
        for point in spec.points():
            status = "done" if point.is_done else "todo"
            print(f"{point.name} [{status}]: {shlex.join(sweep.point_argv(spec, point, extra))}")
        return 0
    if args.optuna is not None:
        from hf_aidetect.training.sweep_optuna import run_optuna

        result = run_optuna(spec, args.optuna, extra)
        print(result.markdown_path.read_text(encoding="utf-8"))
        return 0
    if args.launcher == "in-process":
        runner = sweep.run_point_in_process
    else:
        runner = sweep.SubprocessRunner(shlex.split(args.launch) if args.launch else ())
    report = sweep.run_sweep(spec, extra, runner=runner)
    print(report.markdown_path.read_text(encoding="utf-8"))
    if report.failed:
        print(f"Failed points (re-run to retry): {', '.join(report.failed)}", file=sys.stderr)
        return 1
    return 0
