"""Case f: detection quality on the generated suite (issue 10, item 4): shipped recipes vs the stock recipe.

For each suite dataset (``benchmarks/quality/``: other generator families, 128 / 256 px, JPEG q70-95,
scikit-image photos) it runs, each as a subprocess timed whole (imports included):

* ours: ``python -m hf_aidetect.cli train --config recipes/demo_{cnn,vit}.yaml --dataset D --output_dir O``
  exactly as shipped (plus ``--recipe-args`` / ``--cnn-args`` / ``--vit-args`` when given);
* stock: ``benchmarks/stock_recipe.py`` from the same initial model (the recipe's model config, built with
  the recipe's seed) with the recipe's epochs, batch size, learning rate, weight decay, seed, optimizer and
  schedule, all read from the parsed recipe at run time.

Then the cross-generator rows: on the multi-family dataset, for each family left out, ours trains on the
other families' fakes (train and valid) and is tested on the held-out family's fakes + the test reals.
A failed or timed-out run is a failed row, never a crash of the case.
"""

from __future__ import annotations

import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path
from typing import Any

from benchmarks.common import case_main
from benchmarks.quality.options import add_quality_arguments, split_names
from benchmarks.quality.smoothness import smoothness_ap
from benchmarks.quality.specs import (
    CHECK_SETS,
    CROSS_DATASET,
    DEFAULT_SUITE,
    SUITE,
    DatasetSpec,
    quick_variant,
    resolve,
)
from benchmarks.quality.tables import render_result
from benchmarks.quality.views import families_in, flat_view, leave_family_out
from benchmarks.quality.writer import build_dataset
from hf_aidetect.recipes import recipe_path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_RECIPES = {"cnn": recipe_path("demo_cnn"), "vit": recipe_path("demo_vit")}  # the shipped ones
QUICK_ARGS = ["--num_train_epochs", "1"]
Record = dict[str, Any]


def default_data_cache() -> Path:
    """Generated datasets live outside the scratch folder, so every later run skips generation."""
    env = os.environ.get("BENCH_QUALITY_DATA")
    return Path(env) if env else Path.home() / ".cache" / "hf_aidetect" / "bench_quality"


class Recipe:
    """One recipe file plus extra flags, parsed the way ``hf-aidetect train`` parses it."""

    def __init__(self, model: str, path: Path, extra: list[str]) -> None:
        from hf_aidetect.models.arguments import ModelArguments
        from hf_aidetect.training.config import parse_recipe_args

        self.model, self.path, self.extra = model, Path(path), extra
        parsed = parse_recipe_args(["--config", str(path), *extra])
        self.model_args = next(x for x in parsed if isinstance(x, ModelArguments))
        self.training = next(x for x in parsed if hasattr(x, "learning_rate"))

    @property
    def input_px(self) -> int | None:
        return self.model_args.image_size

    def ours_command(self, dataset: Path, out: Path) -> list[str]:
        cmd = [sys.executable, "-m", "hf_aidetect.cli", "train", "--config", str(self.path)]
        return [*cmd, "--dataset", str(dataset), "--output_dir", str(out), *self.extra]

    def stock_command(self, data: Path, init: Path, out: Path) -> list[str]:
        """The stock recipe with this recipe's hyperparameters (so only the pipeline differs)."""
        t = self.training
        flags = {
            "--data": data, "--model": init, "--output_dir": out, "--epochs": t.num_train_epochs,
            "--batch_size": t.per_device_train_batch_size, "--learning_rate": t.learning_rate,
            "--weight_decay": t.weight_decay, "--seed": t.seed, "--optim": _value(t.optim),
            "--optim_args": t.optim_args or "", "--lr_scheduler_type": _value(t.lr_scheduler_type),
            "--warmup_steps": t.warmup_steps, "--max_grad_norm": t.max_grad_norm,
        }  # fmt: skip
        return [sys.executable, "-m", "benchmarks.stock_recipe", *(f"{k}={v}" for k, v in flags.items())]

    def init_checkpoint(self, folder: Path) -> Path:
        """The recipe's model from its own config and seed, saved where the stock recipe can load it."""
        from transformers import set_seed

        from hf_aidetect.models.factory import build_model

        shutil.rmtree(folder, ignore_errors=True)
        set_seed(int(self.training.seed))
        model, processor = build_model(self.model_args)
        model.save_pretrained(folder)
        processor.save_pretrained(folder)
        return folder


def _value(option: Any) -> str:
    return str(getattr(option, "value", option))


def timed_run(cmd: list[str], run_dir: Path, timeout: float) -> tuple[float, float, str | None]:
    """Run ``cmd`` with a fresh datasets cache; (wall s, CPU s of it and its children, None or an error).

    CPU seconds (user + system, data-loader workers included) move less than wall time when other jobs
    share the machine.
    """
    log = run_dir.with_suffix(".log")
    env = {**os.environ, "HF_DATASETS_CACHE": str(run_dir.with_suffix(".hf_cache"))}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        with log.open("w") as handle:
            proc = subprocess.run(cmd, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT, env=env,
                                  timeout=timeout, check=False)  # fmt: skip
        error = None if proc.returncode == 0 else f"exit {proc.returncode}: {_last_line(log)} (log {log})"
    except subprocess.TimeoutExpired:
        error = f"timed out after {timeout:g} s (log {log})"
    wall = round(time.perf_counter() - start, 1)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 1)
    shutil.rmtree(run_dir.with_suffix(".hf_cache"), ignore_errors=True)
    return wall, cpu, error


def _last_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][-300:] if lines else "no output"


def _metrics(path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
    data = json.loads(path.read_text())
    return {key: data.get(key) for key in keys}


METRICS = ("test_accuracy", "test_roc_auc", "test_average_precision")


def run_ours(recipe: Recipe, dataset: Path, run_dir: Path, timeout: float) -> Record:
    shutil.rmtree(run_dir, ignore_errors=True)
    wall, cpu, error = timed_run(recipe.ours_command(dataset, run_dir), run_dir, timeout)
    record: Record = {"model": recipe.model, "kind": "ours", "recipe": recipe.path.name, "wall_s": wall}
    record["cpu_s"] = cpu
    record["input_px"] = recipe.input_px
    if error is None:
        record.update(_metrics(run_dir / "all_results.json", (*METRICS, "train_runtime")))
        record["train_runtime_s"] = _round(record.pop("train_runtime"))
    return {**record, "status": "ok" if error is None else "failed", "error": error}


def run_stock(recipe: Recipe, flat: Path, run_dir: Path, timeout: float) -> Record:
    shutil.rmtree(run_dir, ignore_errors=True)
    record: Record = {
        "model": recipe.model,
        "kind": "stock",
        "recipe": f"stock_recipe.py ({recipe.path.name})",
    }
    record["input_px"] = recipe.input_px
    try:
        init = recipe.init_checkpoint(run_dir.with_name(run_dir.name + "_init"))
    except Exception as exc:  # a recipe the stock path cannot build is a failed row
        return {**record, "status": "failed", "error": f"initial model: {type(exc).__name__}: {exc}"}
    wall, cpu, error = timed_run(recipe.stock_command(flat, init, run_dir), run_dir, timeout)
    record.update(wall_s=wall, cpu_s=cpu)
    if error is None:
        record.update(_metrics(run_dir / "stock_results.json", (*METRICS, "train_runtime_s")))
    return {**record, "status": "ok" if error is None else "failed", "error": error}


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def suite_plan(
    args: Namespace, quick: bool
) -> tuple[list[DatasetSpec], DatasetSpec | None, list[str] | None]:
    """(datasets, cross-generator dataset or None, held-out families or None for all)."""
    names = split_names(args.datasets) or [*DEFAULT_SUITE, *CHECK_SETS]
    cross_names = [n for n in names if n == CROSS_DATASET]
    specs = resolve([n for n in names if n != CROSS_DATASET])
    cross = None if args.no_cross else SUITE[CROSS_DATASET]
    if split_names(args.datasets) and not cross_names:
        cross = None  # an explicit --datasets list without cross128 means no cross rows
    held_out = split_names(args.held_out) or None
    if quick:
        specs = [quick_variant(spec) for spec in specs[:1]]
        cross = cross and quick_variant(cross)
        held_out = (held_out or [cross.families[0]]) if cross else None
    return specs, cross, held_out


def _shown(path: Path) -> str:
    """A recipe path as the reader would type it: relative to the repository when inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(REPO)) if resolved.is_relative_to(REPO) else str(path)


def _dataset_row(spec: DatasetSpec, folder: Path, started: float) -> Record:
    return {
        "dataset": spec.name,
        "spec": spec.summary(),
        "description": spec.description,
        "folder": str(folder),
        "ready_s": round(time.perf_counter() - started, 1),
    }


class Progress:
    """The case's records so far; after every run it rewrites ``--out`` with status "partial".

    A run stopped half-way (a killed case, a machine going away) still leaves every finished row.
    """

    def __init__(self, out: Path | None, settings: dict[str, Any], quick: bool) -> None:
        self.out, self.settings, self.quick = out, settings, quick
        self.records: list[Record] = []
        self.cross: list[Record] = []
        self.datasets: list[Record] = []

    def result(self) -> dict[str, Any]:
        return render_result(self.records, self.cross, self.datasets, self.settings, self.quick)

    def save(self) -> None:
        if self.out is None:
            return
        partial = {"case": "f", "title": TITLE, "quick": self.quick, "status": "partial", **self.result()}
        self.out.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.out.with_suffix(".partial")
        temporary.write_text(json.dumps(partial, indent=2, default=str) + "\n")
        temporary.replace(self.out)


def run_pairs(recipe: Recipe, data: dict[str, Path], work: Path, timeout: float, progress: Progress) -> None:
    """Stock, then ours, of ``recipe`` on each dataset (``data``: name -> folder)."""
    for name, folder in data.items():
        runs = work / "runs" / name
        runs.mkdir(parents=True, exist_ok=True)
        flat = flat_view(folder, work / "views" / f"{name}_flat")
        stock = run_stock(recipe, flat, runs / f"stock_{recipe.model}", timeout)
        ours = run_ours(recipe, folder, runs / f"ours_{recipe.model}", timeout)
        shutil.rmtree(flat, ignore_errors=True)
        progress.records += [{"dataset": name, **stock}, {"dataset": name, **ours}]
        progress.save()
        print(f"[f] {name} {recipe.model}: ours {ours.get('test_accuracy')} / stock "
              f"{stock.get('test_accuracy')}", file=sys.stderr, flush=True)  # fmt: skip


def run(quick: bool, work: Path, args: Namespace) -> dict[str, Any]:
    """The first model's pairs on every dataset, then the cross-generator rows, then the other model's.

    That order puts the rows the targets need first, should the run be stopped early.
    """
    models = split_names(args.models)
    paths = {
        "cnn": args.cnn_recipe or DEFAULT_RECIPES["cnn"],
        "vit": args.vit_recipe or DEFAULT_RECIPES["vit"],
    }
    common = (QUICK_ARGS if quick else []) + shlex.split(args.recipe_args)
    per_model = {"cnn": shlex.split(args.cnn_args), "vit": shlex.split(args.vit_args)}
    needed = set(models) | set(split_names(args.cross_models))
    recipes = {m: Recipe(m, Path(paths[m]), common + per_model[m]) for m in needed}
    settings = {m: {"recipe": _shown(r.path), "extra_args": r.extra, "input_px": r.input_px,
                    "epochs": r.training.num_train_epochs} for m, r in recipes.items()}  # fmt: skip
    progress = Progress(getattr(args, "out", None), settings, quick)
    specs, cross, held_out = suite_plan(args, quick)
    cache = args.data_cache or default_data_cache()
    data: dict[str, Path] = {}
    for spec in specs:
        started = time.perf_counter()
        data[spec.name] = build_dataset(spec, args.data_seed, cache)
        progress.datasets.append(_dataset_row(spec, data[spec.name], started))
    vit_only = split_names(args.vit_datasets)
    for index, model in enumerate(models):
        chosen = {n: f for n, f in data.items() if model != "vit" or not vit_only or n in vit_only}
        run_pairs(recipes[model], chosen, work, args.run_timeout, progress)
        if index == 0 and cross is not None:
            run_cross(cross, held_out, args, recipes, work, cache, progress)
    if not models and cross is not None:
        run_cross(cross, held_out, args, recipes, work, cache, progress)
    return progress.result()


def run_cross(
    cross: DatasetSpec, held_out: list[str] | None, args: Namespace, recipes: dict[str, Recipe], work: Path,
    cache: Path, progress: Progress,
) -> None:  # fmt: skip
    """Leave each family out in turn; ours trains on the rest and is tested on the family left out."""
    started = time.perf_counter()
    data = build_dataset(cross, args.data_seed, cache)
    progress.datasets.append(_dataset_row(cross, data, started))
    for family in held_out or families_in(data):
        view = leave_family_out(data, family, work / "views" / f"{cross.name}_without_{family}")
        reference_ap = smoothness_ap(view)
        for model in split_names(args.cross_models):
            run_dir = work / "runs" / cross.name / f"without_{family}_{model}"
            run_dir.parent.mkdir(parents=True, exist_ok=True)
            record = run_ours(recipes[model], view, run_dir, args.run_timeout)
            record["smoothness_ap"] = reference_ap
            progress.cross.append({"dataset": cross.name, "held_out": family, **record})
            progress.save()
            print(f"[f] {cross.name} without {family} {model}: AP {record.get('test_average_precision')}",
                  file=sys.stderr, flush=True)  # fmt: skip
        shutil.rmtree(view, ignore_errors=True)  # links only; the dataset stays cached


TITLE = "Detection quality on the generated suite"

if __name__ == "__main__":
    sys.exit(case_main("f", TITLE, run, add_arguments=add_quality_arguments))
