"""Export a trained detector to ONNX, prove it gives the model's answers, optionally quantise it to int8.

MODEL is a local model folder (a training OUTPUT_DIR) or a Hub model id. The export folder (--output-dir,
default MODEL/onnx, which `hf-aidetect push` uploads and the model card lists) holds:

  model.onnx            input pixel_values float32 [batch, 3, S, S] (normalised; dynamic batch),
                        output logits [batch, num_labels]; opset --opset (default 18)
  config.json           the model's config: id2label and the operating point (a tuned threshold is
                        folded into the output bias, so fake iff softmax(logits)[fake] >= 0.5)
  preprocessor_config.json  the model's image processor (centre window at native resolution, zero
                        padding, rescale and normalise): transformers' AutoImageProcessor reads it
  model_quantized.onnx  with --quantize int8 (onnxruntime dynamic quantisation)
  export_report.json    exporter, opset, versions, the parity proof, the int8 check, file hashes

The parity proof runs on every export: 32 images (from --check-data, else seeded synthetic ones) through
the model's evaluation transform, scored by PyTorch and by onnxruntime (batch 32 and batch 1). The export
is kept only when max |P_torch(fake) - P_onnx(fake)| < 1e-4 and every label is identical; otherwise
nothing is written and the exit status is 2.

--quantize int8 also writes model_quantized.onnx and measures, on --check-data (required; up to
--check-max-images images of its test split, or --check-split), the accuracy, ROC-AUC and label agreement
of the int8 graph against the float graph, printed and recorded.

Examples:
  hf-aidetect export outputs/cnn --format onnx
  hf-aidetect export outputs/vit --format onnx --quantize int8 --check-data data/faces --overwrite
  hf-aidetect predict outputs/vit photos/ --backend onnx
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hf_aidetect.cli.outputs import add_overwrite_argument
from hf_aidetect.cli.parser import CommandParser, add_batch_size, add_output_dir
from hf_aidetect.files.layout import EXPORT_REPORT

NAME = "export"
HELP = "Export a detector to ONNX with a PyTorch parity proof (optionally int8-quantised)."
ORDER = 60


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="Local model folder or Hub model id.")
    parser.add_argument("--format", choices=("onnx",), default="onnx", help="Export format (onnx).")
    add_output_dir(parser, what="Export folder (default: MODEL/onnx).", aliases=["--out"])
    parser.add_argument("--opset", type=int, default=18, help="ONNX opset (default 18).")
    parser.add_argument(
        "--quantize", choices=("int8",), default=None, help="Also write an int8 dynamically quantised graph."
    )
    parser.add_argument(
        "--check-data",
        metavar="DATA",
        default=None,
        help="Labelled set (as evaluate's DATA) for the parity images and the int8 accuracy check.",
    )
    parser.add_argument("--check-split", default=None, help="Split of --check-data (default: test).")
    parser.add_argument(
        "--check-max-images",
        type=int,
        default=2000,
        help="Images of --check-data the int8 check scores (default 2000, seeded sample).",
    )
    add_batch_size(parser)
    add_overwrite_argument(parser, "an existing export folder")
    parser.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit) of MODEL.")
    parser.add_argument("--trust-remote-code", action="store_true", help="Run model code shipped with MODEL.")


def run(args: argparse.Namespace) -> int:
    from hf_aidetect.deploy.onnx_export import export_onnx
    from hf_aidetect.errors import ConfigError

    if args.check_max_images < 1 or args.batch_size < 1:
        raise ConfigError("--check-max-images and --batch-size must be >= 1")
    out, report = export_onnx(
        args.model,
        Path(args.output_dir) if args.output_dir else None,
        opset=args.opset,
        quantize=args.quantize,
        check_data=args.check_data,
        check_split=args.check_split,
        check_max_images=args.check_max_images,
        batch_size=args.batch_size,
        trust_remote_code=args.trust_remote_code,
        revision=args.revision,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    parity = report["parity"]
    lines = [
        f"ONNX export: {out / report['file']} (opset {report['opset']}, input "
        f"{report['input']['shape']}, {report['files'][report['file']]['bytes'] / 1e6:.2f} MB)",
        f"Parity with PyTorch on {parity['num_images']} images ({parity['images']}): max |dP(fake)| = "
        f"{parity['max_abs_diff']:.2e} (< {parity['tolerance']:g}), labels identical at threshold "
        f"{parity['threshold']:.4f}, batch sizes {parity['batch_sizes']}",
    ]
    quantized = report.get("quantized")
    if quantized:
        check = quantized["accuracy"]
        lines.append(
            f"int8: {out / quantized['file']} ({quantized['bytes'] / 1e6:.2f} MB): accuracy "
            f"{check['accuracy_float']:.4f} -> {check['accuracy_int8']:.4f} "
            f"({100 * check['accuracy_change']:+.2f} points) on {check['num_images']} images of "
            f"{check['data']}; labels agree on {100 * check['label_agreement']:.2f}%, max |dP(fake)| = "
            f"{check['max_abs_diff']:.3g}"
        )
    lines.append(f"Report: {out / EXPORT_REPORT}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
