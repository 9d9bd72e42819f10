"""The main job: demo data → train the seed CNN and a small ViT → test metrics → a results table.

Each training also writes its evaluation report (``OUTPUT_DIR/<model>/evaluation/``, see
:mod:`hf_aidetect.training.reporting`); the demo's 200 test images keep it to seconds.

Used by ``hf-aidetect demo`` (``make demo``). The recipes are the shipped ``demo_cnn`` and ``demo_vit``
(:mod:`hf_aidetect.recipes`), or those of ``--recipes-dir``.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hf_aidetect.errors import ConfigError
from hf_aidetect.files import atomic_write_json, atomic_write_text
from hf_aidetect.files.layout import DEMO_RESULTS_JSON, DEMO_RESULTS_MARKDOWN, WEIGHTS
from hf_aidetect.markdown import markdown_table

logger = logging.getLogger(__name__)

DEMO_RECIPES = {"cnn": "demo_cnn.yaml", "vit": "demo_vit.yaml"}


@dataclass
class DemoResult:
    """One trained model of the demo: where it is and how it scored on the test split."""

    model: str
    output_dir: str
    test_accuracy: float
    test_roc_auc: float
    validation_accuracy: float
    train_seconds: float
    parameters: int | None = None


def find_recipe(name: str, recipes_dir: str | os.PathLike | None = None) -> Path:
    """Recipe ``name`` (e.g. ``demo_cnn.yaml``) from ``recipes_dir`` when given, else the shipped one."""
    from hf_aidetect.recipes import recipe_path

    if recipes_dir is None:
        return recipe_path(name)
    path = Path(recipes_dir) / name
    if not path.is_file():
        raise ConfigError(f"--recipes-dir {recipes_dir} has no {name}; add it or drop --recipes-dir.")
    return path


def ensure_demo_data(data_dir: Path, regenerate: bool = False) -> Path:
    """Write the embedded demo dataset into ``data_dir`` unless the folder already holds data."""
    from hf_aidetect.data.demo import write_demo_dataset

    if data_dir.is_dir() and any(data_dir.iterdir()) and not regenerate:
        logger.info("Re-using the data in %s (--regenerate-data rebuilds the demo data).", data_dir)
        return data_dir
    logger.info("Writing the demo dataset to %s ...", data_dir)
    return write_demo_dataset(data_dir, overwrite=True)


def _train_one(name: str, recipe: Path, data_dir: Path, output_dir: Path, extra: Sequence[str]) -> DemoResult:
    from hf_aidetect.training.config import parse_recipe_args
    from hf_aidetect.training.runner import train

    # The demo owns its folders: a re-run replaces its previous models (extra flags may say otherwise).
    argv = ["--config", str(recipe), "--dataset", str(data_dir), "--output_dir", str(output_dir)]
    argv += ["--overwrite_output_dir", "true", *extra]
    script_args, training_args, model_args = parse_recipe_args(argv)
    logger.info("Training the demo %s (%s) into %s ...", name, recipe.name, output_dir)
    started = time.perf_counter()
    results = train(script_args, training_args, model_args)
    seconds = time.perf_counter() - started
    return DemoResult(
        model=name,
        output_dir=str(output_dir),
        test_accuracy=float(results["test_accuracy"]),
        test_roc_auc=float(results["test_roc_auc"]),
        validation_accuracy=float(results["validation_accuracy"]),
        train_seconds=round(seconds, 1),
        parameters=_parameter_count(output_dir),
    )


def _parameter_count(output_dir: Path) -> int | None:
    from safetensors import safe_open

    weights = output_dir / WEIGHTS
    if not weights.is_file():
        return None
    with safe_open(str(weights), framework="pt") as handle:
        return sum(math.prod(handle.get_slice(key).get_shape()) for key in handle.keys())  # noqa: SIM118


def results_table(results: Sequence[DemoResult]) -> str:
    """Markdown table of the demo results."""
    header = [
        "model",
        "test accuracy",
        "test ROC-AUC",
        "validation accuracy",
        "parameters",
        "wall time",
        "output",
    ]
    rows = [
        [row.model, f"{row.test_accuracy:.2%}", f"{row.test_roc_auc:.4f}", f"{row.validation_accuracy:.2%}",
         f"{row.parameters:,}" if row.parameters else "?", f"{row.train_seconds:.0f} s", row.output_dir]
        for row in results
    ]  # fmt: skip
    return markdown_table(header, rows, align="lrrrrrl")


def run_demo(
    output_dir: str | os.PathLike,
    models: Sequence[str] = ("cnn", "vit"),
    *,
    extra_args: Sequence[str] = (),
    recipes_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    regenerate_data: bool = False,
) -> list[DemoResult]:
    """Build the demo data (once), train each model with its demo recipe, write results.{md,json}."""
    output_dir = Path(output_dir)
    unknown = sorted(set(models) - set(DEMO_RECIPES))
    if unknown:
        raise ConfigError(f"--models {unknown}: choose from {sorted(DEMO_RECIPES)}.")
    recipes = {name: find_recipe(DEMO_RECIPES[name], recipes_dir) for name in models}
    data = ensure_demo_data(Path(data_dir) if data_dir else output_dir / "data", regenerate_data)
    results = [_train_one(name, recipes[name], data, output_dir / name, extra_args) for name in models]
    table = results_table(results)
    markdown, json_path = output_dir / DEMO_RESULTS_MARKDOWN, output_dir / DEMO_RESULTS_JSON
    atomic_write_text(markdown, table + "\n")
    payload: dict[str, Any] = {"data_dir": str(data), "results": [asdict(row) for row in results]}
    atomic_write_json(json_path, payload, sort_keys=False)
    logger.info("Demo results written to %s and %s", markdown, json_path)
    return results
