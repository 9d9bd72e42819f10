"""Label image files as real or fake with a trained detector.

MODEL is a local model folder (a training OUTPUT_DIR) or a Hub model id. PATHs are image files, folders
(searched recursively for image extensions; --all-files takes every file) or quoted globs such as
'photos/**/*.jpg'. Every file gets exactly one output row, in input order (a file named twice keeps
its first place), with the columns:

  path        the file
  label       the decision: "fake" iff fake_score >= threshold, else "real" (empty on error)
  fake_score  P(fake) from the model's softmax (empty on error)
  error       why the file could not be used (not found, empty, not an image, truncated, unreadable);
              empty when the file was fine

Threshold: --threshold when given, else the model's own: 0.5, its top label (a tuned threshold is folded
into the weights by `hf-aidetect evaluate --save-threshold` and by training), or a `fake_threshold` that an
older hf_aidetect left in config.json.

--unsure adds the answer "unsure" (columns `decision`, the threshold's answer, and `unsure_reason`) when
P(fake) is within a factor --unsure-odds (default 3) of the threshold's odds (0.25 < P(fake) < 0.75 at
threshold 0.5), or when the decision flips under a JPEG re-encode at quality 75 or a x0.5 downscale. It
scores every image three times and writes the rows when all are done.

--output FILE is checked before the model loads: it may not be one of the inputs or lie in the model
folder, and an existing FILE is replaced only with --overwrite. Rows are written to a temporary file that
replaces FILE at the end, so an interrupted run never leaves half a file.

--backend onnx scores with onnxruntime on CPU, from the folder `hf-aidetect export` wrote (MODEL itself,
MODEL/onnx, or the onnx/ folder of a Hub repo; --onnx-file model_quantized.onnx for the int8 graph):
the same preprocessing, rows, error handling and threshold (its config.json) as the PyTorch path.

Exit status: 0 when every file was predicted, 1 when at least one row has an error (the other rows are
still written), 2 for usage errors (bad flags, a model that does not load, nothing matched).

Examples:
  hf-aidetect predict ./outputs/vit photos/ --format table
  hf-aidetect predict user/vit-fake-faces 'shots/**/*.png' --format jsonl --output preds.jsonl
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hf_aidetect.cli.outputs import add_overwrite_argument, local_model_folder
from hf_aidetect.cli.parser import add_batch_size, add_device, add_num_workers, add_threshold
from hf_aidetect.errors import ConfigError
from hf_aidetect.files.layout import ONNX_MODEL, ONNX_QUANTIZED

if TYPE_CHECKING:
    from hf_aidetect.deploy.onnx_detector import OnnxDetector
    from hf_aidetect.inference.loading import Detector

NAME = "predict"
HELP = "Predict real/fake for image files, folders or globs (CSV, JSONL or table)."
ORDER = 40


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by predict / evaluate / explain to load a model."""
    parser.add_argument("model", metavar="MODEL", help="Local model folder or Hub model id.")
    add_device(parser)
    parser.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit) of MODEL.")
    parser.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="Run model code shipped with MODEL (the seed CNN where hf_aidetect is not installed).",
    )


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """``--backend`` / ``--onnx-file``, shared by predict and evaluate."""
    parser.add_argument(
        "--backend",
        choices=("pytorch", "onnx"),
        default="pytorch",
        help="pytorch (default) or onnx: onnxruntime on CPU with MODEL's `hf-aidetect export` folder "
        "(MODEL itself, MODEL/onnx, or a Hub repo's onnx/); same preprocessing, rows and threshold.",
    )
    parser.add_argument(
        "--onnx-file",
        default=ONNX_MODEL,
        help=f"With --backend onnx: the graph to run (default {ONNX_MODEL}; {ONNX_QUANTIZED} for int8).",
    )


def load_scoring_detector(args: argparse.Namespace) -> Detector | OnnxDetector:
    """The detector of ``--backend``: a PyTorch :class:`Detector` or an onnxruntime ``OnnxDetector``."""
    if args.backend == "onnx":
        from hf_aidetect.deploy.onnx_detector import load_onnx_detector

        if args.device not in ("auto", "cpu"):
            raise ConfigError(f"--backend onnx runs on CPU (onnxruntime); drop --device {args.device}")
        return load_onnx_detector(args.model, onnx_file=args.onnx_file, revision=args.revision)
    from hf_aidetect.inference.loading import load_detector

    return load_detector(
        args.model, device=args.device, trust_remote_code=args.trust_remote_code, revision=args.revision
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    add_backend_arguments(parser)
    parser.add_argument("paths", metavar="PATH", nargs="+", help="Image files, folders or quoted globs.")
    add_batch_size(parser)
    add_num_workers(parser)
    add_threshold(parser)
    parser.add_argument(
        "--format",
        choices=("csv", "jsonl", "table"),
        default=None,
        help="Output format (default: table on a terminal, csv otherwise).",
    )
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        default=None,
        help="Write rows to FILE instead of stdout (atomically: FILE appears complete or not at all).",
    )
    add_overwrite_argument(parser, "the --output file")
    parser.add_argument(
        "--all-files", action="store_true", help="In folders, take every file, not only images."
    )
    add_crops_argument(parser)
    parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")
    parser.add_argument(
        "--unsure",
        action="store_true",
        help="Answer 'unsure' near the threshold or when a degradation flips it.",
    )
    parser.add_argument(
        "--unsure-odds", type=float, default=3.0, help="Odds factor of the unsure band (default 3)."
    )


def add_crops_argument(parser: argparse.ArgumentParser) -> None:
    """``--crops K``, shared by predict and evaluate."""
    parser.add_argument(
        "--crops",
        type=int,
        default=1,
        metavar="K",
        help="Score the mean logits of K native-resolution windows per image, on a g x g grid covering "
        "it (K = 4, 9, 16; for images larger than the model's input). Default 1: the saved processor's "
        "centre window, as pipeline('image-classification') does.",
    )


def run(args: argparse.Namespace) -> int:
    from hf_aidetect.files import atomic_open, check_output_path
    from hf_aidetect.inference.files import expand_paths
    from hf_aidetect.inference.formats import write_rows
    from hf_aidetect.inference.predict import predict_files
    from hf_aidetect.inference.threshold import resolve_threshold

    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {args.batch_size}")
    paths = expand_paths(args.paths, all_files=args.all_files)
    if args.output is not None:  # before the model loads: never destroy an input, never replace silently
        model_folder = local_model_folder(args.model)
        check_output_path(
            args.output,
            flag="--output",
            overwrite=args.overwrite,
            inputs=paths,
            protected=[model_folder] if model_folder else [],
        )
    detector = load_scoring_detector(args)
    if args.crops != 1:
        detector = detector.with_crops(args.crops)
    threshold, origin = resolve_threshold(args.threshold, detector.config)
    fmt = args.format or ("table" if args.output is None and sys.stdout.isatty() else "csv")
    rows = predict_files(
        detector,
        paths,
        threshold=threshold,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        progress=not (args.no_progress or args.quiet),
    )
    if args.unsure:
        from hf_aidetect.inference.unsure import mark_unsure

        rows = mark_unsure(
            detector, list(rows), threshold=threshold, odds=args.unsure_odds, batch_size=args.batch_size,
            num_workers=args.num_workers, progress=not (args.no_progress or args.quiet),
        )  # fmt: skip
    counts = {"real": 0, "fake": 0, "unsure": 0, "error": 0}
    output = atomic_open(args.output, newline="") if args.output else contextlib.nullcontext(sys.stdout)
    with output as stream:  # the file replaces --output only once every row is written
        for row in write_rows(rows, stream, fmt, unsure=args.unsure):
            counts["error" if row.error else str(row.label)] += 1
    if not args.quiet:
        where = f" -> {args.output}" if args.output else ""
        sys.stderr.write(
            f"{len(paths)} file(s): {counts['fake']} fake, {counts['real']} real, "
            + (f"{counts['unsure']} unsure, " if args.unsure else "")
            + f"{counts['error']} error(s)"
            f" at threshold {threshold:.4f} ({origin}){where}\n"
        )
    return 1 if counts["error"] else 0
