"""Evaluate a detector on a labelled dataset and write a report with plots.

MODEL is a local model folder or a Hub id; DATA is any source `hf-aidetect train` reads (split / class
folders, the Kaggle 140k layout, a save_to_disk folder, a Hub dataset id). The --split (default test)
is scored and --out DIR receives:

  metrics.json, report.md   accuracy, balanced accuracy, per-class precision / recall / F1, ROC-AUC,
                            average precision, confusion matrix; per-source accuracy and AP when the data
                            has generator / source sub-folders (or --source-column)
  *.png                     confusion matrix, ROC and precision-recall curves, score histograms
  robustness.md / .json     the same metrics under JPEG q95/75/50, downscale x0.5 and blur sigma=1
  gallery.png               heatmaps for the most confident real / fake and the worst errors

Threshold: tuned on the validation split (max balanced accuracy, or with --target-fpr the highest fake
recall whose false-positive rate stays within the target) unless --threshold fixes it. When MODEL is a
local folder the tuned value is saved as `fake_threshold` in MODEL/config.json (--no-save-threshold to
skip; a fixed --threshold is saved only with an explicit --save-threshold), so `hf-aidetect predict`
and the model card use it. An image is fake iff P(fake) >= threshold.

Examples:
  hf-aidetect evaluate ./outputs/vit ./data/real-vs-fake            # report in ./outputs/vit/evaluation
  hf-aidetect evaluate user/vit-fake-faces ./faces --out report --target-fpr 0.01
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hf_aidetect.cli.commands.predict import add_crops_argument, add_model_arguments
from hf_aidetect.errors import ConfigError

NAME = "evaluate"
HELP = "Evaluate a detector on a dataset: metrics, threshold, plots, robustness, explanation gallery."
ORDER = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument("data", metavar="DATA", help="Dataset folder, save_to_disk folder or Hub dataset id.")
    parser.add_argument(
        "--out", type=Path, default=None, help="Report folder (default: MODEL/evaluation for a local MODEL)."
    )
    parser.add_argument(
        "--split", default="test", help="Split to evaluate: test (default), validation, train."
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--threshold", type=float, default=None, help="Use this threshold instead of tuning.")
    group.add_argument(
        "--target-fpr", type=float, default=None, help="Tune for this false-positive rate (real called fake)."
    )
    parser.add_argument(
        "--save-threshold",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Write the tuned threshold to MODEL/config.json (default: yes for a local MODEL folder).",
    )
    parser.add_argument("--no-robustness", action="store_true", help="Skip the perturbation table.")
    parser.add_argument(
        "--robustness-samples",
        type=int,
        default=2000,
        help="Test images used per perturbation (default 2000).",
    )
    parser.add_argument("--no-gallery", action="store_true", help="Skip the explanation gallery.")
    parser.add_argument("--gallery-errors", type=int, default=4, help="Worst errors shown in the gallery.")
    parser.add_argument("--batch-size", type=int, default=32, help="Images per forward pass (default 32).")
    add_crops_argument(parser)
    parser.add_argument(
        "--num-workers", type=int, default=None, help="Decode worker processes (default auto)."
    )
    data = parser.add_argument_group("data loading (as in training)")
    data.add_argument("--validation-size", type=float, default=0.1, help="Carved from train when missing.")
    data.add_argument("--test-size", type=float, default=0.1, help="Carved from train when missing.")
    data.add_argument(
        "--seed", type=int, default=42, help="Seed of the carved splits (use the training one)."
    )
    data.add_argument("--source-column", default=None, help="Column naming the generator / source.")
    data.add_argument("--no-validate", action="store_true", help="Skip the up-front decode check of images.")


def _as_size(value: float) -> float | int:
    """Fractions stay floats; whole numbers > 1 are counts (as in training)."""
    return int(value) if value > 1 and float(value).is_integer() else value


def run(args: argparse.Namespace) -> int:
    from hf_aidetect.data import load_detection_dataset
    from hf_aidetect.inference.evaluation import evaluate_model
    from hf_aidetect.inference.loading import load_detector

    detector = load_detector(
        args.model, device=args.device, trust_remote_code=args.trust_remote_code, revision=args.revision
    )
    out = args.out or (detector.local_dir / "evaluation" if detector.local_dir else None)
    if out is None:
        raise ConfigError(f"--out is required when MODEL ({args.model}) is not a local folder")
    if args.save_threshold and detector.local_dir is None:
        raise ConfigError("--save-threshold needs MODEL to be a local folder; evaluate a downloaded copy")
    # By default a tuned threshold is saved; a fixed --threshold only with an explicit --save-threshold.
    wanted = args.save_threshold if args.save_threshold is not None else args.threshold is None
    save = detector.local_dir if wanted else None
    dataset = load_detection_dataset(
        args.data,
        validation_size=_as_size(args.validation_size),
        test_size=_as_size(args.test_size),
        seed=args.seed,
        source_column=args.source_column,
        validate=not args.no_validate,
    )
    report = evaluate_model(
        detector.model,
        detector.image_processor,
        dataset,
        out,
        split=args.split,
        threshold=args.threshold,
        target_fpr=args.target_fpr,
        save_threshold_to=save,
        robustness=not args.no_robustness,
        robustness_samples=args.robustness_samples,
        gallery=not args.no_gallery,
        gallery_errors=args.gallery_errors,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        progress=not args.quiet,
        crops=args.crops,
    )
    metrics, threshold = report["metrics"], report["threshold"]
    sys.stdout.write(
        f"{report['split']}: {report['num_samples']} images | accuracy {metrics['accuracy']:.4f} | "
        f"balanced accuracy {metrics['balanced_accuracy']:.4f} | ROC-AUC {metrics['roc_auc']:.4f} | "
        f"AP {metrics['average_precision']:.4f}\n"
        f"threshold {threshold['value']:.4f} ({threshold['source']})"
        + (f", saved to {threshold['saved_to']}" if "saved_to" in threshold else "")
        + f"\nreport: {Path(out) / 'report.md'}\n"
    )
    return 0
