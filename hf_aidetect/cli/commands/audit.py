"""Audit a real-vs-fake dataset for shortcuts and leaks before trusting any score on it.

DATA is any source `hf-aidetect train` reads; it is split as training would split it (missing validation /
test splits carved with --validation-size / --test-size / --seed), or taken as it is with --as-evaluation
(e.g. a test-only folder). --output-dir DIR receives audit.md and audit.json:

  distributions   per split and class: file format, JPEG quality (estimated from the quantization tables:
                  the libjpeg quality whose scaled standard tables match, "~Q" when only close), chroma
                  subsampling, colour mode, width x height, EXIF presence and file size
  probe           a logistic regression that sees only that metadata, cross-validated: ROC-AUC per feature
                  and for all features combined, per split. Above 0.6 the feature is a shortcut: a
                  detector can score well by learning it (e.g. "PNG = real") instead of the image
  leaks           exact duplicates (same bytes, SHA-256) and near-duplicates (perceptual hash within
                  --near-distance of 64 bits) between splits

Exit status: 0 when nothing was found, 1 when a shortcut or a leak was (the reports are written either way),
2 for usage errors. `hf-aidetect train` runs the cheap part (probe on headers, exact duplicates) itself and
logs a warning for each finding.

Examples:
  hf-aidetect audit ./real_vs_fake --output-dir audit/
  hf-aidetect audit ./external-test --as-evaluation --no-near
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hf_aidetect.cli.parser import CommandParser, add_output_dir

NAME = "audit"
HELP = "Audit a dataset for shortcuts (format, JPEG quality, size, EXIF) and train/test leaks."
ORDER = 35


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("data", metavar="DATA", help="Dataset folder, save_to_disk folder or Hub dataset id.")
    add_output_dir(parser, what="Report folder (default: ./<data name>-audit).", aliases=["--out"])
    parser.add_argument(
        "--no-near", action="store_true", help="Skip the near-duplicate search (no decoding)."
    )
    parser.add_argument(
        "--near-distance",
        type=int,
        default=4,
        help="Differing perceptual-hash bits of a near-duplicate (of 64).",
    )
    parser.add_argument(
        "--as-evaluation", action="store_true", help="Take the splits as they are (no train split needed)."
    )
    parser.add_argument("--validation-size", type=float, default=0.1, help="Carved from train when missing.")
    parser.add_argument("--test-size", type=float, default=0.1, help="Carved from train when missing.")
    parser.add_argument(
        "--seed", type=int, default=42, help="Seed of the carved splits (use the training one)."
    )
    parser.add_alias("--split-seed", "--seed")  # train's name for it
    parser.add_argument("--source-column", default=None, help="Column naming the generator / source.")
    parser.add_argument(
        "--no-validate", action="store_true", help="Skip the up-front decode check of images."
    )


def _as_size(value: float) -> float | int:
    return int(value) if value > 1 and float(value).is_integer() else value


def run(args: argparse.Namespace) -> int:
    from hf_aidetect.data import load_detection_dataset
    from hf_aidetect.data.audit import run_audit, write_audit

    options = {"source_column": args.source_column, "validate": not args.no_validate}
    if args.as_evaluation:
        options["purpose"] = "evaluation"
    else:
        options.update(
            validation_size=_as_size(args.validation_size), test_size=_as_size(args.test_size), seed=args.seed
        )
    dataset = load_detection_dataset(args.data, **options)
    report = run_audit(dataset, near=not args.no_near, near_distance=args.near_distance)
    name = Path(str(args.data)).name or "data"
    _, markdown = write_audit(report, Path(args.output_dir or f"{name}-audit"), str(args.data))
    for line in report.warnings:
        sys.stderr.write(f"WARNING {line}\n")
    if not args.quiet:
        found = f"{len(report.warnings)} finding(s)" if report.warnings else "no shortcut or leak found"
        sys.stdout.write(f"{len(report.facts)} images audited: {found}; report: {markdown}\n")
    return 1 if report.warnings else 0
