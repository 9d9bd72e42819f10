"""Output rules shared by the subcommands that write files (predict, evaluate, explain, demo-data).

Every output is checked before the model or the data is loaded (:func:`hf_aidetect.files.check_output_path`)
and written atomically; an existing output is replaced only with ``--overwrite``.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_overwrite_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """``--overwrite``: replace ``what`` when it already exists (refused otherwise)."""
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help=f"Replace {what} if it already exists (atomically; without this flag it is refused).",
    )


def local_model_folder(model: str) -> Path | None:
    """MODEL as a folder on this machine, or None for a Hub id."""
    path = Path(model).expanduser()
    return path if path.is_dir() else None


def check_report_outputs(args: argparse.Namespace, out: Path, model_folder: Path | None) -> None:
    """``evaluate``: refuse a report folder that would replace the model or a data folder, and an existing
    non-empty one without --overwrite."""
    from hf_aidetect.files import check_output_path

    local_data = [Path(item).expanduser() for item in [*args.data, args.tune_on] if item]
    local_data = [path for path in local_data if path.exists()]
    check_output_path(
        out,
        flag="--output-dir",
        kind="folder",
        overwrite=args.overwrite,
        inputs=[*([model_folder] if model_folder else []), *local_data],
        protected=local_data,
    )
