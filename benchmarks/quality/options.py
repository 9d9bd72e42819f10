"""Command-line options of case f, shared by ``benchmarks.case_quality`` and ``benchmarks.run`` (no torch)."""

from __future__ import annotations

import argparse
from pathlib import Path

# (flag, argparse keywords); the runner forwards every one of them to case f.
_OPTIONS: list[tuple[str, dict]] = [
    ("--datasets", {"default": None, "help": "comma-separated suite datasets (default: all but the PNG "
                    "contrast set; see benchmarks/quality/specs.py)"}),
    ("--models", {"default": "cnn,vit", "help": "which recipes to run: cnn, vit or both (default)"}),
    ("--vit-datasets", {"default": None, "help": "run the ViT recipes on these datasets only (default: "
                        "all; the ViT runs cost ~5x the CNN's on 2 cores)"}),
    ("--cnn-recipe", {"type": Path, "default": None, "help": "CNN recipe (default demo_cnn.yaml)"}),
    ("--vit-recipe", {"type": Path, "default": None, "help": "ViT recipe (default demo_vit.yaml)"}),
    ("--recipe-args", {"default": "", "help": "extra flags for every recipe run, e.g. "
                       "--recipe-args='--num_train_epochs 3'; the stock runs copy the hyperparameters too"}),
    ("--cnn-args", {"default": "", "help": "extra flags for the CNN recipe only"}),
    ("--vit-args", {"default": "", "help": "extra flags for the ViT recipe only"}),
    ("--held-out", {"default": None, "help": "families to leave out one at a time (default: all)"}),
    ("--cross-models", {"default": "cnn", "help": "recipes for the cross-generator rows (cnn, vit, both)"}),
    ("--no-cross", {"action": "store_true", "help": "skip the cross-generator rows"}),
    ("--data-cache", {"type": Path, "default": None, "help": "where generated datasets are cached "
                      "(default $BENCH_QUALITY_DATA or ~/.cache/hf_aidetect/bench_quality)"}),
    ("--data-seed", {"type": int, "default": 0, "help": "seed of the generated datasets"}),
    ("--run-timeout", {"type": float, "default": 1800.0, "help": "seconds per training subprocess"}),
]  # fmt: skip


def add_quality_arguments(parser: argparse.ArgumentParser) -> None:
    """Add case f's options to ``parser`` (as a group, so the runner's --help shows them apart)."""
    group = parser.add_argument_group("case f (quality suite)")
    for flag, kwargs in _OPTIONS:
        group.add_argument(flag, **kwargs)


def forwarded(args: argparse.Namespace) -> list[str]:
    """The runner's values of case f's options as ``--flag=value`` strings (only those set)."""
    argv = []
    for flag, kwargs in _OPTIONS:
        value = getattr(args, flag.lstrip("-").replace("-", "_"))
        if kwargs.get("action") == "store_true":
            argv += [flag] if value else []
        elif value is not None and value != kwargs.get("default"):
            argv.append(f"{flag}={value}")
    return argv


def split_names(text: str | None) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]``; None or empty -> []."""
    return [item.strip() for item in (text or "").split(",") if item.strip()]
