"""Evaluate a detector on one or more labelled sets at one operating point and write reports with plots.

MODEL is a local model folder or a Hub id; each DATA is a labelled set: split folders (test/{real,fake},
or the Kaggle 140k layout), plain class folders ({real,fake}/...), a save_to_disk folder or a Hub dataset id.
Every image of the chosen split is scored: nothing is carved out (--carve splits DATA as training does).
The split is --split, else test, else the only split DATA has. One DATA writes its report into --output-dir;
several write --output-dir/<name>/ each and a table with a row per set (summary.md, summary.json, stdout):

  metrics.json, report.md   accuracy, balanced accuracy, per-class precision / recall / F1, confusion
                            matrix at the threshold; TPR at 0.1 / 0.5 / 1 / 5 % FPR, ROC-AUC and AP with
                            seeded bootstrap 95 % intervals; ECE (15 bins), Brier score; per-source metrics
                            when the data has generator sub-folders (or --source-column); image counts
  scores.csv                P(fake) per image (no paths)
  *.png                     confusion matrix, ROC, precision-recall, score histogram, reliability diagram
  robustness.md / .json     the same metrics under JPEG q95/75/50, downscale x0.5 and blur sigma=1
  gallery.png               heatmaps for the most confident real / fake and the worst errors

Threshold: the model's own (its top label: P(fake) >= 0.5, the rule of pipeline() and predict), unless
--threshold T fixes one or --tune-on DATA tunes one on DATA's validation split (or on DATA whole when it
is only class folders): max balanced accuracy, or with --target-fpr the highest fake recall whose
false-positive rate stays within the target; at least --min-per-class images of each class are required.

MODEL is never modified, unless --save-threshold: then the tuned / fixed threshold is folded into the
model's classifier bias (P(fake) = 0.5 becomes that threshold, so pipeline(), predict, the card and its
model-index agree), MODEL/evaluation is recomputed at it and the model card (README.md) is re-rendered.

--output-dir is checked before anything loads: it may not replace MODEL or a DATA folder, and an existing
non-empty --output-dir is replaced only with --overwrite. Reports are written under a temporary name and
renamed to --output-dir once complete, so an interrupted run leaves the previous one (or none), never half
of one.

--backend onnx scores with onnxruntime from MODEL's `hf-aidetect export` folder (as predict does): the
same report, without the explanation gallery (heatmaps need the PyTorch weights) and without
--save-threshold.

Examples:
  hf-aidetect evaluate ./outputs/vit ./external/test-only ./external/new-generator --output-dir reports/vit
  hf-aidetect evaluate user/vit-fake-faces ./faces --output-dir report
  hf-aidetect evaluate ./outputs/vit ./faces --tune-on ./my-validation --target-fpr 0.01 --save-threshold
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from hf_aidetect.cli.commands.predict import (
    add_backend_arguments,
    add_crops_argument,
    add_model_arguments,
    load_scoring_detector,
)
from hf_aidetect.cli.outputs import add_overwrite_argument, check_report_outputs, local_model_folder
from hf_aidetect.cli.parser import (
    CommandParser,
    add_batch_size,
    add_num_workers,
    add_output_dir,
    add_threshold,
)
from hf_aidetect.errors import ConfigError

NAME = "evaluate"
HELP = "Evaluate a detector on labelled sets: metrics at one threshold, TPR at low FPR, calibration, plots."
ORDER = 30

logger = logging.getLogger("hf_aidetect.cli.evaluate")


def add_arguments(parser: CommandParser) -> None:
    add_model_arguments(parser)
    add_backend_arguments(parser)
    parser.add_argument(
        "data", metavar="DATA", nargs="+", help="Labelled sets: folders, save_to_disk folders or Hub ids."
    )
    add_output_dir(parser, what="Report folder (default: ./<model name>-evaluation).", aliases=["--out"])
    add_overwrite_argument(parser, "an existing non-empty --output-dirput-dir folder")
    parser.add_argument("--split", default=None, help="Split to score (default: test, else the only one).")
    group = parser.add_mutually_exclusive_group()
    add_threshold(parser, group)
    group.add_argument(
        "--tune-on", metavar="DATA", default=None, help="Tune the threshold on this labelled validation set."
    )
    parser.add_argument(
        "--target-fpr", type=float, default=None, help="With --tune-on: tune for this false-positive rate."
    )
    parser.add_argument(
        "--min-per-class",
        type=int,
        default=None,
        help="Fewest images per class --tune-on accepts (default 50).",
    )
    parser.add_argument(
        "--save-threshold",
        action="store_true",
        help="Fold the --tune-on / --threshold threshold into MODEL (a local folder) and re-render its card.",
    )
    parser.add_argument("--no-robustness", action="store_true", help="Skip the perturbation table.")
    parser.add_argument(
        "--robustness-samples", type=int, default=2000, help="Images used per perturbation (default 2000)."
    )
    parser.add_argument("--no-gallery", action="store_true", help="Skip the explanation gallery.")
    parser.add_argument("--gallery-errors", type=int, default=4, help="Worst errors shown in the gallery.")
    parser.add_argument(
        "--bootstrap", type=int, default=1000, help="Bootstrap resamples for the intervals (0: none)."
    )
    add_batch_size(parser)
    add_crops_argument(parser)
    add_num_workers(parser)
    data = parser.add_argument_group("data loading")
    data.add_argument(
        "--carve", action="store_true", help="Split DATA as training does (to reproduce a carved test split)."
    )
    data.add_argument("--validation-size", type=float, default=0.1, help="With --carve: carved validation.")
    data.add_argument("--test-size", type=float, default=0.1, help="With --carve: carved test.")
    data.add_argument("--seed", type=int, default=42, help="With --carve: the training run's split seed.")
    parser.add_alias("--split-seed", "--seed")  # train's name for it
    data.add_argument("--source-column", default=None, help="Column naming the generator / source.")
    data.add_argument("--no-validate", action="store_true", help="Skip the up-front decode check of images.")


def _as_size(value: float) -> float | int:
    """Fractions stay floats; whole numbers > 1 are counts (as in training)."""
    return int(value) if value > 1 and float(value).is_integer() else value


def _check_flags(args: argparse.Namespace, local_dir: Path | None) -> None:
    if args.target_fpr is not None and args.tune_on is None:
        raise ConfigError("--target-fpr tunes a threshold: add --tune-on DATA (a labelled validation set)")
    if args.min_per_class is not None and args.tune_on is None:
        raise ConfigError("--min-per-class applies to --tune-on DATA; add it or drop the flag")
    if args.save_threshold and args.threshold is None and args.tune_on is None:
        raise ConfigError("--save-threshold needs a threshold to save: add --tune-on DATA or --threshold T")
    if args.save_threshold and args.backend == "onnx":
        raise ConfigError(
            "--save-threshold changes the PyTorch weights: run it without --backend onnx, then re-export "
            "(hf-aidetect export MODEL --overwrite)"
        )
    if args.save_threshold and local_dir is None:
        raise ConfigError(
            f"--save-threshold needs MODEL ({args.model}) to be a local folder; download it first"
        )


def _default_out(args: argparse.Namespace, local_dir: Path | None) -> Path:
    name = (local_dir.resolve().name if local_dir else str(args.model).rstrip("/").split("/")[-1]) or "model"
    return Path(f"{name}-onnx-evaluation" if args.backend == "onnx" else f"{name}-evaluation")


def run(args: argparse.Namespace) -> int:
    """Check the flags and --output-dir before anything loads, then write the reports under a temporary name
    (renamed to --output-dir when complete)."""
    from hf_aidetect.files import atomic_directory

    model_folder = local_model_folder(args.model)
    _check_flags(args, model_folder)
    out = Path(args.output_dir) if args.output_dir else _default_out(args, model_folder)
    if model_folder is not None and not args.save_threshold:
        inside = Path(out).resolve().is_relative_to(model_folder.resolve())
        if inside:
            raise ConfigError(
                f"--output-dir {out} is inside MODEL ({model_folder}): evaluate never writes into the "
                "model folder; choose another --output-dir (or --save-threshold to update the model's own "
                "report)"
            )
    check_report_outputs(args, out, model_folder)
    with atomic_directory(out, replace=args.overwrite) as partial:
        return _run(args, partial, out)


def _run(args: argparse.Namespace, partial: Path, out: Path) -> int:
    from hf_aidetect.inference.evaluate_many import (
        evaluate_sets,
        load_evaluation_sets,
        load_tuning_set,
        summary_markdown,
    )
    from hf_aidetect.inference.threshold import MIN_IMAGES_PER_CLASS

    detector = load_scoring_detector(args)
    gallery = not args.no_gallery
    if gallery and args.backend == "onnx":
        logger.info("No explanation gallery with --backend onnx: heatmaps need the PyTorch weights")
        gallery = False
    if args.crops != 1:
        detector = detector.with_crops(args.crops)
    load_kwargs = {"source_column": args.source_column, "validate": not args.no_validate}
    carve = {"validation_size": _as_size(args.validation_size), "test_size": _as_size(args.test_size),
             "seed": args.seed} if args.carve else {}  # fmt: skip
    sets = load_evaluation_sets(list(args.data), split=args.split, carve=args.carve, **load_kwargs, **carve)
    tuning = load_tuning_set(args.tune_on, **load_kwargs) if args.tune_on else None
    rows, decision = evaluate_sets(
        detector,
        sets,
        partial,
        threshold=args.threshold,
        tuning=tuning,
        target_fpr=args.target_fpr,
        min_per_class=args.min_per_class if args.min_per_class is not None else MIN_IMAGES_PER_CLASS,
        save_to=detector.local_dir if args.save_threshold else None,
        score_kwargs={
            "batch_size": args.batch_size,
            "num_workers": args.num_workers,
            "progress": not args.quiet,
        },
        robustness=not args.no_robustness,
        robustness_samples=args.robustness_samples,
        gallery=gallery,
        gallery_errors=args.gallery_errors,
        bootstrap_resamples=args.bootstrap,
    )
    sys.stdout.write(summary_markdown(rows, decision).split("\n", 2)[-1])
    saved = f"; folded into {detector.local_dir} (card re-rendered)" if decision.saved_to else ""
    sys.stdout.write(f"reports: {out}{saved}\n")
    return 0
