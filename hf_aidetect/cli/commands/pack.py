"""Write a folder of images as Parquet shards to stream from (locally, from other nodes, or from the Hub).

  OUT/data/{train,validation,test}-NNNNN-of-MMMMM.parquet   original image bytes, label, source, split, id
  OUT/README.md (dataset card)   OUT/hf_aidetect_pack.json (manifest: counts, shards, skipped images)

DATA is any layout `train` reads: split folders of class folders (the Kaggle 140k layout included), or just
class folders (validation / test are carved out, stratified and seeded, as the loader does). Every image is
decode-checked first; unreadable ones are left out with the loader's report. Rows are shuffled (seeded)
before they are cut into shards of about --shard-size bytes, so every shard mixes classes. Shards are
written in parallel, each atomically; run the same command again after a stop and it writes only the
missing shards. --push-to-hub uploads the result as a Hub dataset repo.

examples:
  hf-aidetect pack data/real_vs_fake --output-dir shards/ --shard-size 500MB
  hf-aidetect pack data/faces --output-dir shards/ --push-to-hub alice/faces-shards --private
  hf-aidetect train --config recipes/cnn_seed.yaml --dataset shards/ --streaming true --max_steps 20000
"""

from __future__ import annotations

import argparse
import logging

from hf_aidetect.cli.parser import CommandParser, add_num_workers, add_output_dir

NAME = "pack"
HELP = "Write an image-folder dataset as Parquet shards (resumable, parallel) and optionally push them."
ORDER = 15

logger = logging.getLogger(__name__)


def add_arguments(parser: CommandParser) -> None:
    from hf_aidetect.data.pack.options import PackOptions

    defaults = PackOptions()
    parser.add_argument("data", metavar="DATA", help="Dataset folder (split or class folders).")
    add_output_dir(parser, what="Output folder of the shards (new, empty or a pack).", required=True,
                   aliases=["--out"])  # fmt: skip
    parser.add_argument(
        "--shard-size", default="500MB",
        help="Image bytes per shard, e.g. 500MB, 2GB, 256MiB (default: %(default)s).",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="Shuffle / carving seed (default: %(default)s)."
    )
    parser.add_argument(
        "--validation-size", type=float, default=defaults.validation_size,
        help="Fraction of train carved out as validation when DATA has none (default: %(default)s).",
    )  # fmt: skip
    parser.add_argument(
        "--test-size", type=float, default=defaults.test_size,
        help="Fraction of train carved out as test when DATA has none (default: %(default)s).",
    )  # fmt: skip
    parser.add_argument(
        "--bad-images", choices=["skip", "error"], default=defaults.bad_images,
        help="Leave unreadable images out with a report (skip) or stop (error) (default: %(default)s).",
    )  # fmt: skip
    add_num_workers(parser)
    parser.add_argument(
        "--overwrite", action="store_true", help="Replace a pack of other data or options in --output-dir."
    )
    parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
    parser.add_argument(
        "--push-to-hub",
        metavar="REPO",
        default=None,
        help="Then upload the pack as the dataset repo USER/NAME.",
    )
    parser.add_argument("--private", action="store_true", help="With --push-to-hub: create the repo private.")
    parser.add_argument("--revision", default=None, help="With --push-to-hub: branch to push to.")
    parser.add_argument("--token", default=None, help="Hub token (prefer HF_TOKEN or `hf auth login`).")


def run(args: argparse.Namespace) -> int:
    from hf_aidetect.data.pack import PackOptions, pack_dataset, parse_size
    from hf_aidetect.errors import ConfigError

    if args.num_workers is not None and args.num_workers < 1:
        raise ConfigError(f"--num-workers must be >= 1, got {args.num_workers}.")
    sizes = {}
    for flag in ("validation_size", "test_size"):
        value = getattr(args, flag)
        sizes[flag] = int(value) if value >= 1 and float(value).is_integer() else value
    options = PackOptions(
        shard_size=parse_size(args.shard_size),
        seed=args.seed,
        bad_images=args.bad_images,
        num_workers=args.num_workers,
        **sizes,
    )
    result = pack_dataset(
        args.data, args.output_dir, options, overwrite=args.overwrite, progress=not args.no_progress
    )
    logger.info(
        "Pack ready in %s (%d shard(s) written, %d kept, %d unreadable image(s) left out). Train with "
        "--dataset %s --streaming true --max_steps N",
        result.out_dir,
        result.written,
        result.kept,
        len(result.report.bad_images),
        result.out_dir,
    )
    if args.push_to_hub:
        from hf_aidetect.publishing.dataset_push import push_pack

        pushed = push_pack(
            result.out_dir,
            args.push_to_hub,
            private=True if args.private else None,
            revision=args.revision,
            token=args.token,
        )
        logger.info(
            "Pushed to %s: stream it with --dataset %s --streaming true", pushed.repo_url, pushed.repo_id
        )
    return 0
