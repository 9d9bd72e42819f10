"""Show what drives a detector's decision: heatmaps overlaid on each image, one PNG per image.

Method (--method auto): attention rollout weighted by gradients for ViT-like models, Grad-CAM on the last
convolutional feature map for CNNs (the seed CNN), input-gradient saliency for anything else. The map
explains the decided class (fake iff P(fake) >= threshold; threshold as in `hf-aidetect predict`); it
is resized onto the image region the model sees (the centered crop) and normalised to [0, 1].

Each output is DIR/<image name>_<label>_<P(fake)>.png with the image and its overlay side by side and
the score in the title. Exit status 1 when an image could not be explained (its reason is logged).
DIR may not be an input or lie in the model folder; a DIR that already holds files needs --overwrite
(same-named overlays are then replaced, the others kept). Each PNG is written atomically.

Example:
  hf-aidetect explain ./outputs/vit face1.jpg faces/ --output-dir explanations
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from hf_aidetect.cli.commands.predict import add_model_arguments
from hf_aidetect.cli.outputs import add_overwrite_argument, local_model_folder
from hf_aidetect.cli.parser import CommandParser, add_output_dir, add_threshold

NAME = "explain"
HELP = "Write heatmap overlays of what drives the real/fake decision for images."
ORDER = 45

logger = logging.getLogger("hf_aidetect.cli.explain")


def add_arguments(parser: CommandParser) -> None:
    add_model_arguments(parser)
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="Image files, folders or quoted globs.")
    add_output_dir(parser, what="Folder for the overlay PNGs.", required=True, aliases=["--out"])
    add_overwrite_argument(parser, "overlays in a non-empty --output-dir folder")
    parser.add_argument(
        "--method",
        choices=("auto", "attention", "gradcam", "saliency"),
        default="auto",
        help="Explanation method (default auto: by architecture).",
    )
    add_threshold(parser)


def _output_name(path: Path, label: str, score: float, used: set[str]) -> str:
    name = f"{path.stem}_{label}_{score:.3f}.png"
    counter = 1
    while name in used:  # same file name in different folders
        counter += 1
        name = f"{path.stem}-{counter}_{label}_{score:.3f}.png"
    used.add(name)
    return name


def run(args: argparse.Namespace) -> int:
    from hf_aidetect.data.images import load_rgb
    from hf_aidetect.files import atomic_path, check_output_path
    from hf_aidetect.inference.explain import METHOD_NAMES, explain_image, overlay_heatmap
    from hf_aidetect.inference.files import expand_paths
    from hf_aidetect.inference.loading import load_detector
    from hf_aidetect.inference.plots import plot_explanation
    from hf_aidetect.inference.predict import describe_error
    from hf_aidetect.inference.threshold import resolve_threshold

    paths = expand_paths(args.images)
    out = Path(args.output_dir)
    model_folder = local_model_folder(args.model)
    check_output_path(
        out,
        flag="--output-dir",
        kind="folder",
        overwrite=args.overwrite,
        inputs=paths,
        protected=[model_folder] if model_folder else [],
    )
    detector = load_detector(
        args.model, device=args.device, trust_remote_code=args.trust_remote_code, revision=args.revision
    )
    threshold, origin = resolve_threshold(args.threshold, detector.config)
    out.mkdir(parents=True, exist_ok=True)
    failures, used = 0, set()
    for path in paths:
        try:
            image = load_rgb(path)
            image.load()
        except Exception as error:
            failures += 1
            logger.error("%s: %s", path, describe_error(path, error))
            continue
        explanation = explain_image(detector, image, method=args.method, threshold=threshold)
        label = "fake" if explanation.fake_score >= threshold else "real"
        title = (
            f"{path.name}: {label}  (P(fake) = {explanation.fake_score:.3f}, threshold {threshold:.3f})"
            f"\n{METHOD_NAMES[explanation.method]}: evidence for '{label}' (red = strongest)"
        )
        target = out / _output_name(path, label, explanation.fake_score, used)
        overlay = overlay_heatmap(image, explanation.heatmap, region=explanation.region)
        cropped = explanation.region != (0, 0, *image.size)
        with atomic_path(target) as partial:  # each PNG appears whole or not at all
            plot_explanation(image, overlay, title, partial, cropped=cropped)
        sys.stdout.write(f"{target}\n")
    if not args.quiet:
        sys.stderr.write(
            f"{len(paths) - failures} overlay(s) written to {out} (threshold {threshold:.4f}, {origin})"
            + (f"; {failures} image(s) failed" if failures else "")
            + "\n"
        )
    return 1 if failures else 0
