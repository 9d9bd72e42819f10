"""The report's hyper-parameter sweeps: one Trainer run per grid point, resumable, with a results table.

A sweep YAML names a base recipe, a grid and an output root::

    base: ../cnn_seed.yaml              # relative to the sweep file (or the working directory)
    output_root: outputs/sweeps/cnn_grid
    select_metric: validation_accuracy  # key of all_results.json that names the best point
    overrides: {evaluate_train: true}   # applied to every point (evaluation_report: true to keep the report)
    grid:
      per_device_train_batch_size: [32, 64, 128]
      learning_rate: [1.0e-2, 1.0e-3, 1.0e-4]

Every point trains into ``OUTPUT_ROOT/<point>/`` through the recipe parser and ``train()`` of
:mod:`hf_aidetect.training`, by default in a child process (``python -m hf_aidetect.training.sweep --config
BASE ...`` runs one point), so memory is returned between points. A point whose ``all_results.json`` exists is
skipped on restart; an interrupted point resumes from its last checkpoint. Points skip the evaluation report
(``evaluation/``) unless ``overrides`` set ``evaluation_report: true``. After each point, ``results.csv`` /
``results.md`` and ``sweep_summary.json`` (the best point) are rewritten in OUTPUT_ROOT.
:mod:`hf_aidetect.training.sweep_optuna` searches the same keys with ``Trainer.hyperparameter_search``.
"""

from __future__ import annotations

import csv
import itertools
import json
import logging
import math
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hf_aidetect.errors import ConfigError
from hf_aidetect.files import atomic_open, atomic_write_json, atomic_write_text
from hf_aidetect.files.layout import (
    ALL_RESULTS,
    POINT_LOG,
    SWEEP_POINT,
    SWEEP_RESULTS_CSV,
    SWEEP_RESULTS_MARKDOWN,
    SWEEP_SUMMARY,
)
from hf_aidetect.markdown import markdown_table
from hf_aidetect.training.checkpoints import find_resumable_checkpoint

logger = logging.getLogger(__name__)

SPEC_KEYS = {"base", "grid", "output_root", "overrides", "select_metric", "greater_is_better", "description"}
SHORT_NAMES = {
    "per_device_train_batch_size": "bs",
    "learning_rate": "lr",
    "num_train_epochs": "ep",
    "weight_decay": "wd",
    "gradient_accumulation_steps": "ga",
}
# (all_results.json key, markdown header); the CSV also keeps validation recalls and the raw numbers.
TABLE_METRICS = (
    ("train_accuracy", "train acc"),
    ("validation_accuracy", "val acc"),
    ("test_accuracy", "test acc"),
    ("test_recall_real", "test recall real"),
    ("test_recall_fake", "test recall fake"),
    ("validation_roc_auc", "val ROC-AUC"),
    ("test_roc_auc", "test ROC-AUC"),
)
CSV_METRICS = (*(key for key, _ in TABLE_METRICS), "validation_recall_real", "validation_recall_fake")
# Defaults for every point (the sweep's `overrides:` and command-line flags win): the end-of-run report
# costs time per point; run `hf-aidetect evaluate` on the best point instead.
POINT_DEFAULTS: dict[str, Any] = {"evaluation_report": False}

Row = dict[str, Any]
PointRunner = Callable[[list[str], "SweepPoint"], dict[str, Any]]


@dataclass
class SweepPoint:
    """One grid point: its parameter values and its own output folder."""

    index: int
    params: dict[str, Any]
    output_dir: Path

    @property
    def name(self) -> str:
        return self.output_dir.name

    @property
    def is_done(self) -> bool:
        return (self.output_dir / ALL_RESULTS).is_file()


@dataclass
class SweepSpec:
    """A parsed sweep YAML (see the module docstring)."""

    base: Path
    grid: dict[str, list[Any]]
    output_root: Path
    overrides: dict[str, Any] = field(default_factory=dict)
    select_metric: str = "validation_accuracy"
    greater_is_better: bool = True
    name: str = "sweep"

    @classmethod
    def from_yaml(cls, path: str | Path, output_root: str | Path | None = None) -> SweepSpec:
        """Read and check a sweep YAML; ``output_root`` overrides the file's."""
        from hf_aidetect.recipes import recipe_path

        path = recipe_path(path, kind="sweep")
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"Sweep file {path} must be a mapping with base, grid and output_root.")
        unknown = sorted(set(data) - SPEC_KEYS)
        if unknown:
            raise ConfigError(f"Unknown key(s) {unknown} in sweep file {path}; allowed: {sorted(SPEC_KEYS)}.")
        for key in ("base", "grid"):
            if not data.get(key):
                raise ConfigError(f"Sweep file {path} needs `{key}:`.")
        grid = data["grid"]
        if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
            raise ConfigError(f"`grid:` in {path} must map argument names to non-empty lists of values.")
        spec = cls(
            base=_resolve_base(path, str(data["base"])),
            grid={str(k): list(v) for k, v in grid.items()},
            output_root=Path(output_root or data.get("output_root") or Path("outputs/sweeps") / path.stem),
            overrides=dict(data.get("overrides") or {}),
            select_metric=str(data.get("select_metric", "validation_accuracy")),
            greater_is_better=bool(data.get("greater_is_better", True)),
            name=path.stem,
        )
        spec.check_keys()
        return spec

    def check_keys(self) -> None:
        """Every grid / override key must be a recipe argument; output_dir belongs to the sweep."""
        from hf_aidetect.training.config import argument_names

        known = argument_names()
        for where, keys in (("grid", self.grid), ("overrides", self.overrides)):
            bad = sorted(key for key in keys if key not in known or key == "output_dir")
            if bad:
                raise ConfigError(
                    f"Sweep `{where}:` key(s) {bad} are not recipe arguments (output_dir is set per point); "
                    "see `hf-aidetect train --help` for the accepted names."
                )

    def points(self) -> list[SweepPoint]:
        """The grid's cartesian product, in file order (first key varies slowest)."""
        keys = list(self.grid)
        points = []
        for index, values in enumerate(itertools.product(*(self.grid[k] for k in keys))):
            params = dict(zip(keys, values))
            label = "_".join(f"{SHORT_NAMES.get(k, k)}{_format_value(v)}" for k, v in params.items())
            points.append(SweepPoint(index, params, self.output_root / f"{index:02d}_{label}"))
        return points


def _resolve_base(sweep_file: Path, base: str) -> Path:
    """``base:`` relative to the sweep file, to the working directory, or a shipped recipe's name."""
    from hf_aidetect.recipes import recipe_path

    for candidate in (sweep_file.parent / base, Path(base)):
        if candidate.is_file():
            return candidate.resolve()
    try:
        return recipe_path(base)
    except ConfigError:
        raise ConfigError(
            f"Base recipe {base!r} of sweep file {sweep_file} not found (looked next to the sweep file, in "
            "the working directory and among the shipped recipes)."
        ) from None


def _format_value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value).replace("/", "-").replace(" ", "")


def _flag_tokens(key: str, value: Any) -> list[str]:
    """``--key value`` tokens the recipe parser reads back to the same value."""
    if isinstance(value, bool):
        return [f"--{key}", str(value).lower()]
    if isinstance(value, dict):
        return [f"--{key}", json.dumps(value)]
    if isinstance(value, (list, tuple)):
        return [f"--{key}", *(str(item) for item in value)]
    return [f"--{key}", str(value)]


def _check_extra_args(spec: SweepSpec, extra_args: Sequence[str]) -> None:
    owned = {*spec.grid, "output_dir", "config"}
    for token in extra_args:
        key = token[2:].split("=", 1)[0] if token.startswith("--") else None
        if key in owned:
            raise ConfigError(
                f"--{key} is set by the sweep (grid / per-point folder / base recipe); drop it from the "
                "command line or edit the sweep YAML."
            )


def point_argv(spec: SweepSpec, point: SweepPoint, extra_args: Sequence[str] = ()) -> list[str]:
    """Recipe arguments of one point: base YAML < sweep overrides < extra flags < grid values."""
    _check_extra_args(spec, extra_args)
    argv = ["--config", str(spec.base)]
    for key, value in {**POINT_DEFAULTS, **spec.overrides}.items():
        argv += _flag_tokens(key, value)
    argv += list(extra_args)
    for key, value in point.params.items():
        argv += _flag_tokens(key, value)
    argv += ["--output_dir", str(point.output_dir)]
    resumable, _ = find_resumable_checkpoint(point.output_dir, world_size=None)
    if resumable is not None:  # an interrupted point continues from its newest complete checkpoint
        argv += ["--resume_from_checkpoint", "last"]
    return argv


def run_point_in_process(argv: list[str], point: SweepPoint) -> dict[str, Any]:
    """Parse the recipe arguments and call ``train()`` in this process."""
    from hf_aidetect.training import parse_recipe_args, train

    script_args, training_args, model_args = parse_recipe_args(argv)
    try:
        return train(script_args, training_args, model_args)
    finally:
        _release_memory()


def _release_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@dataclass
class SubprocessRunner:
    """Runs a point as ``LAUNCH -m hf_aidetect.training.sweep ARGV``; output goes to ``<point>/train.log``.

    ``launch`` defaults to this Python; e.g. ``accelerate launch --num_processes 2`` runs points on 2 GPUs.
    """

    launch: Sequence[str] = ()

    def __call__(self, argv: list[str], point: SweepPoint) -> dict[str, Any]:
        command = [*(self.launch or [sys.executable]), "-m", "hf_aidetect.training.sweep", *argv]
        log_path = point.output_dir / POINT_LOG
        logger.info("Point %s: %s (log: %s)", point.name, shlex.join(command), log_path)
        with log_path.open("a", encoding="utf-8") as log:
            status = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
        if status != 0 or not point.is_done:
            tail = "".join(log_path.read_text(encoding="utf-8", errors="replace").splitlines(True)[-15:])
            raise RuntimeError(f"point {point.name} exited with status {status}; see {log_path}:\n{tail}")
        return json.loads((point.output_dir / ALL_RESULTS).read_text(encoding="utf-8"))


@dataclass
class SweepReport:
    """What a sweep produced: one row per point, the best row, the table files, failed point names."""

    rows: list[dict[str, Any]]
    best: dict[str, Any] | None
    csv_path: Path
    markdown_path: Path
    failed: list[str]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _row(
    spec: SweepSpec, point: SweepPoint, results: dict[str, Any], record: dict[str, Any]
) -> dict[str, Any]:
    row: dict[str, Any] = {"point": point.name, **point.params}
    for key in CSV_METRICS:
        row[key] = results.get(key)
    wall = record.get("wall_time_s", results.get("train_runtime"))
    row["wall_time_s"] = None if wall is None else round(float(wall), 1)
    # An interrupted point's record still says "running"; until it is re-run it is just pending.
    failed = record.get("status") == "failed"
    row["status"] = "done" if point.is_done else "failed" if failed else "pending"
    row[spec.select_metric] = results.get(spec.select_metric)
    return row


def _run_one(spec: SweepSpec, point: SweepPoint, runner: PointRunner, extra_args: Sequence[str]) -> None:
    point.output_dir.mkdir(parents=True, exist_ok=True)
    argv = point_argv(spec, point, extra_args)
    record = {"params": point.params, "argv": argv, "status": "running"}
    atomic_write_json(point.output_dir / SWEEP_POINT, record, sort_keys=False)
    start = time.perf_counter()
    try:
        runner(argv, point)
        record["status"] = "done" if point.is_done else "failed"
        if not point.is_done:
            record["error"] = f"the run wrote no {ALL_RESULTS}"
    except Exception as error:  # one bad point (e.g. a diverging lr) must not end the sweep
        logger.error("Point %s failed: %s", point.name, error)
        record.update(status="failed", error=str(error)[-2000:])
    record["wall_time_s"] = time.perf_counter() - start
    atomic_write_json(point.output_dir / SWEEP_POINT, record, sort_keys=False)


def run_sweep(
    spec: SweepSpec, extra_args: Sequence[str] = (), runner: PointRunner | None = None
) -> SweepReport:
    """Train every unfinished point, then write the results table; finished points are only read."""
    runner = runner or SubprocessRunner()
    points = spec.points()
    spec.output_root.mkdir(parents=True, exist_ok=True)
    for number, point in enumerate(points, start=1):
        if point.is_done:
            logger.info("Point %d/%d %s: finished earlier, skipped.", number, len(points), point.name)
            continue
        logger.info("Point %d/%d %s: training %s.", number, len(points), point.name, point.params)
        _run_one(spec, point, runner, extra_args)
        collect_results(spec, points)
    return collect_results(spec, points)


def collect_results(spec: SweepSpec, points: list[SweepPoint] | None = None) -> SweepReport:
    """Read every point folder and (re)write ``results.csv``, ``results.md`` and ``sweep_summary.json``."""
    points = points if points is not None else spec.points()
    rows = [
        _row(spec, p, _read_json(p.output_dir / ALL_RESULTS), _read_json(p.output_dir / SWEEP_POINT))
        for p in points
    ]
    best = best_row(rows, spec.select_metric, spec.greater_is_better)
    csv_path, markdown_path = write_tables(spec, rows, best)
    summary = {"select_metric": spec.select_metric, "greater_is_better": spec.greater_is_better, "best": best}
    atomic_write_json(spec.output_root / SWEEP_SUMMARY, summary, sort_keys=False, default=str)
    failed = [row["point"] for row in rows if row["status"] == "failed"]
    return SweepReport(rows, best, csv_path, markdown_path, failed)


def best_row(
    rows: list[dict[str, Any]], metric: str, greater_is_better: bool = True
) -> dict[str, Any] | None:
    """The finished row with the best ``metric`` (NaN / missing values never win)."""
    scored = [r for r in rows if isinstance(r.get(metric), (int, float)) and not math.isnan(r[metric])]
    if not scored:
        return None
    pick = max if greater_is_better else min
    return pick(scored, key=lambda r: r[metric])


def _cell(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if key == "wall_time_s":
        minutes, seconds = divmod(round(float(value)), 60)
        return f"{minutes}m {seconds:02d}s"
    if isinstance(value, float) and ("accuracy" in key or "recall" in key):
        return f"{100 * value:.2f} %"
    if isinstance(value, float) and "roc_auc" in key:
        return f"{value:.4f}"
    return _format_value(value)


def write_tables(
    spec: SweepSpec, rows: list[dict[str, Any]], best: dict[str, Any] | None
) -> tuple[Path, Path]:
    """``results.csv`` (raw numbers) and ``results.md`` (readable, names the best point)."""
    selected = [] if spec.select_metric in CSV_METRICS else [spec.select_metric]
    columns = ["point", *spec.grid, *CSV_METRICS, *selected, "wall_time_s", "status"]
    csv_path = spec.output_root / SWEEP_RESULTS_CSV
    with atomic_open(csv_path, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    keys = ["point", *spec.grid, *(key for key, _ in TABLE_METRICS), "wall_time_s", "status"]
    headers = ["point", *spec.grid, *(header for _, header in TABLE_METRICS), "wall time", "status"]
    lines = [f"# Sweep {spec.name}", "", f"Base recipe: `{spec.base.name}`. Grid: {spec.grid}.", ""]
    cells = []
    for row in rows:
        marker = " **(best)**" if best is not None and row["point"] == best["point"] else ""
        cells.append([_cell(key, row.get(key)) for key in keys])
        cells[-1][0] += marker
    lines += [markdown_table(headers, cells), ""]
    if best is None:
        lines.append(f"No finished point has `{spec.select_metric}` yet.")
    else:
        params = ", ".join(f"{k} = {_format_value(best[k])}" for k in spec.grid)
        value = best[spec.select_metric]
        lines.append(f"**Best point:** `{best['point']}` ({params}) with {spec.select_metric} = {value:.4f}.")
    markdown_path = spec.output_root / SWEEP_RESULTS_MARKDOWN
    atomic_write_text(markdown_path, "\n".join(lines) + "\n")
    return csv_path, markdown_path


def main(argv: Sequence[str] | None = None) -> int:
    """One sweep point in this process: ``python -m hf_aidetect.training.sweep --config BASE --flag ...``."""
    from hf_aidetect._logging import configure_logging
    from hf_aidetect.errors import AIDetectError

    configure_logging(logging.INFO)
    try:
        run_point_in_process(list(sys.argv[1:] if argv is None else argv), SweepPoint(0, {}, Path(".")))
    except AIDetectError as error:
        logger.error("%s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
