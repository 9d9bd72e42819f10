"""Write the embedded demo dataset: a small, offline, deterministic real-vs-fake set in the Kaggle layout.

  OUT_DIR/real_vs_fake/real-vs-fake/{train,valid,test}/{real,fake}/NNNNN.jpg   + OUT_DIR/README.md (card)

real: random crops of photographs shipped inside scikit-learn and matplotlib.
fake: other crops, 4x-downsampled and re-synthesised by a small up-convolution decoder trained for a few
      seconds, so they carry a generator's fingerprints (upsampling artifacts, missing high frequencies).
Both classes are saved with the same format, size and quality. The same options give byte-identical files.

It is a smoke dataset for trying the pipelines, not a face-forensics benchmark.

examples:
  hf-aidetect demo-data data/demo
  hf-aidetect demo-data data/demo --image-size 96 --train-per-class 500 --seed 1 --overwrite
"""

from __future__ import annotations

import argparse
import logging

from hf_aidetect.data.demo.options import FORMATS, DemoDataOptions
from hf_aidetect.errors import ConfigError

NAME = "demo-data"
HELP = "Write the small offline demo dataset (real photo crops vs. generator re-syntheses)."
ORDER = 10

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags mirror :class:`DemoDataOptions` fields."""
    defaults = DemoDataOptions()
    parser.add_argument(
        "out_dir", metavar="OUT_DIR", nargs="?", default=None, help="Folder to write (created if missing)."
    )
    parser.add_argument(
        "--output-dir", dest="output_dir", metavar="DIR", default=None, help="Same as OUT_DIR."
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="Random seed (default: %(default)s).")
    parser.add_argument(
        "--image-size", type=int, default=defaults.image_size,
        help="Side of the square images in pixels, a multiple of 4 (default: %(default)s).",
    )  # fmt: skip
    for split in ("train", "valid", "test"):
        parser.add_argument(
            f"--{split}-per-class", type=int, default=defaults.per_class(split),
            help=f"Images per class in {split}/ (default: %(default)s).",
        )  # fmt: skip
    parser.add_argument(
        "--format", dest="image_format", choices=FORMATS, default=defaults.image_format,
        help="File format for BOTH classes (default: %(default)s).",
    )  # fmt: skip
    parser.add_argument(
        "--quality", type=int, default=defaults.quality,
        help="JPEG quality for both classes, 1-100 (default: %(default)s; ignored for png).",
    )  # fmt: skip
    parser.add_argument(
        "--generator-steps", type=int, default=defaults.generator_steps,
        help="Training steps of the fake-image generator (default: %(default)s).",
    )  # fmt: skip
    parser.add_argument(
        "--generator-crops", type=int, default=defaults.generator_crops,
        help="Crops the generator is trained on, disjoint from the dataset's (default: %(default)s).",
    )  # fmt: skip
    parser.add_argument(
        "--generator-width", type=int, default=defaults.generator_width,
        help="Channels of the generator's layers (default: %(default)s).",
    )  # fmt: skip
    parser.add_argument(
        "--min-crop-scale", type=float, default=defaults.min_crop_scale,
        help="Smallest crop side, as a multiple of the image size (>1: crisp crops) (default: %(default)s).",
    )  # fmt: skip
    parser.add_argument(
        "--min-detail", type=float, default=defaults.min_detail,
        help="Redraw crops flatter than this mean luminance gradient, 0-255 scale (default: %(default)s).",
    )  # fmt: skip
    parser.add_argument(
        "--num-threads", type=int, default=defaults.num_threads,
        help="torch threads for the generator; the fakes' bytes depend on it (default: %(default)s).",
    )  # fmt: skip
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="Replace OUT_DIR/real_vs_fake and OUT_DIR/README.md if present.",
    )


def run(args: argparse.Namespace) -> int:
    """Generate the dataset and say where it went."""
    from hf_aidetect.data.demo import write_demo_dataset

    options = DemoDataOptions(
        seed=args.seed,
        image_size=args.image_size,
        train_per_class=args.train_per_class,
        valid_per_class=args.valid_per_class,
        test_per_class=args.test_per_class,
        image_format=args.image_format,
        quality=args.quality,
        generator_steps=args.generator_steps,
        generator_crops=args.generator_crops,
        generator_width=args.generator_width,
        min_crop_scale=args.min_crop_scale,
        min_detail=args.min_detail,
        num_threads=args.num_threads,
    )
    if (args.out_dir is None) == (args.output_dir is None):
        raise ConfigError("give the folder to write once: OUT_DIR or --output-dir DIR")
    out_dir = write_demo_dataset(args.out_dir or args.output_dir, options, overwrite=args.overwrite)
    logger.info(
        "Demo data ready: load it with load_detection_dataset(%r) or train with --dataset %s",
        str(out_dir),
        out_dir,
    )
    return 0
