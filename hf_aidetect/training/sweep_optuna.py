"""Optuna search over a sweep file's grid keys, through ``Trainer.hyperparameter_search`` (optional extra).

The grid's keys must be ``TrainingArguments`` fields (Trainer sets them per trial). Float keys whose values
are all positive are searched log-uniformly between the grid's smallest and largest value; any other key is a
choice among the grid's values. The objective is the sweep's ``select_metric`` on the validation split, as
reported by the trial's last evaluation (Optuna's median pruner may stop weak trials early). The study lives
in ``OUTPUT_ROOT/optuna/study.db``: re-running continues it until ``n_trials`` trials have finished. Trials
train in ``OUTPUT_ROOT/optuna/run-<N>/``; ``optuna/results.md`` / ``trials.csv`` list them.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_aidetect.errors import ConfigError
from hf_aidetect.files import atomic_open, atomic_write_text
from hf_aidetect.files.layout import OPTUNA_TRIALS_CSV, SWEEP_RESULTS_MARKDOWN
from hf_aidetect.markdown import markdown_table
from hf_aidetect.training.sweep import SweepPoint, SweepSpec, point_argv

logger = logging.getLogger(__name__)

FINISHED_STATES = ("COMPLETE", "PRUNED")


@dataclass
class OptunaReport:
    """Best trial (``number``, ``value``, ``params``) and the written tables."""

    best: dict[str, Any] | None
    csv_path: Path
    markdown_path: Path


def optuna_space(grid: dict[str, list[Any]]) -> Callable[[Any], dict[str, Any]]:
    """Optuna search space from a sweep grid: log-uniform floats, categorical everything else."""

    def space(trial: Any) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for key, values in grid.items():
            floats = all(isinstance(v, float) for v in values) and len(set(values)) > 1
            if floats and min(values) > 0:
                params[key] = trial.suggest_float(key, min(values), max(values), log=True)
            else:
                params[key] = trial.suggest_categorical(key, list(values))
        return params

    return space


def _objective_key(spec: SweepSpec) -> str:
    if not spec.select_metric.startswith("validation_"):
        raise ConfigError(
            f"--optuna optimises a validation metric, but select_metric is {spec.select_metric!r}; "
            "use e.g. validation_accuracy or validation_roc_auc in the sweep file."
        )
    return "eval_" + spec.select_metric.removeprefix("validation_")


def _check_training_keys(spec: SweepSpec) -> None:
    from hf_aidetect.training.arguments import DetectionTrainingArguments

    fields = {f.name for f in dataclasses.fields(DetectionTrainingArguments)}
    bad = sorted(key for key in spec.grid if key not in fields)
    if bad:
        raise ConfigError(
            f"--optuna can only search TrainingArguments fields; {bad} in the sweep grid are not. "
            "Use the grid sweep (no --optuna) for model / data keys."
        )


def _search(spec: SweepSpec, remaining: int, extra_args: Sequence[str], storage: str, root: Path) -> None:
    from hf_aidetect.models import build_model
    from hf_aidetect.training import parse_recipe_args
    from hf_aidetect.training.runner import build_trainer, setup_logging

    objective_key = _objective_key(spec)
    script_args, training_args, model_args = parse_recipe_args(
        point_argv(spec, SweepPoint(0, {}, root), extra_args)
    )
    setup_logging(training_args)
    trainer = build_trainer(script_args, training_args, model_args).trainer
    # A fresh model per trial (seeded by Trainer before model_init runs).
    trainer.model_init = lambda: build_model(model_args)[0]

    def objective(metrics: dict[str, float]) -> float:
        if objective_key not in metrics:
            raise ConfigError(
                f"select_metric {spec.select_metric!r}: no {objective_key} in {sorted(metrics)}."
            )
        return float(metrics[objective_key])

    trainer.hyperparameter_search(
        hp_space=optuna_space(spec.grid),
        compute_objective=objective,
        n_trials=remaining,
        direction="maximize" if spec.greater_is_better else "minimize",
        backend="optuna",
        study_name=spec.name,
        storage=storage,
        load_if_exists=True,
    )


def run_optuna(spec: SweepSpec, n_trials: int, extra_args: Sequence[str] = ()) -> OptunaReport:
    """Run (or continue) the study until ``n_trials`` trials finished; write the trial table."""
    try:
        import optuna
    except ImportError:
        raise ConfigError("--optuna needs the optuna package: pip install 'hf_aidetect[optuna]'.") from None
    if n_trials < 1:
        raise ConfigError(f"--optuna takes a number of trials >= 1, got {n_trials}.")
    _check_training_keys(spec)
    _objective_key(spec)
    root = spec.output_root / "optuna"
    root.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(root / 'study.db').resolve()}"
    direction = "maximize" if spec.greater_is_better else "minimize"
    study = optuna.create_study(
        study_name=spec.name, storage=storage, direction=direction, load_if_exists=True
    )
    finished = sum(trial.state.name in FINISHED_STATES for trial in study.trials)
    if finished >= n_trials:
        logger.info("Optuna study %s already has %d finished trials; nothing to run.", spec.name, finished)
    else:
        _search(spec, n_trials - finished, extra_args, storage, root)
    study = optuna.load_study(study_name=spec.name, storage=storage)
    return write_trials(spec, study, root)


def write_trials(spec: SweepSpec, study: Any, root: Path) -> OptunaReport:
    """``trials.csv`` and ``results.md`` (one row per trial, the best one named)."""
    keys = list(spec.grid)
    rows = [
        {
            "trial": t.number,
            "state": t.state.name,
            spec.select_metric: t.value,
            **{k: t.params.get(k) for k in keys},
            "duration_s": None if t.duration is None else round(t.duration.total_seconds(), 1),
        }
        for t in study.trials
    ]
    csv_path = root / OPTUNA_TRIALS_CSV
    with atomic_open(csv_path, newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["trial", "state", spec.select_metric, *keys, "duration_s"]
        )
        writer.writeheader()
        writer.writerows(rows)
    completed = [t for t in study.trials if t.state.name == "COMPLETE"]
    best = None
    if completed:
        trial = study.best_trial
        best = {"number": trial.number, "value": trial.value, "params": trial.params}
    headers = ["trial", "state", spec.select_metric, *keys, "duration (s)"]
    cells = [list(row.values()) for row in rows]
    lines = [f"# Optuna study {spec.name}", "", markdown_table(headers, cells, cell=_trial_cell), ""]
    lines.append(
        f"**Best trial:** {best['number']} with {spec.select_metric} = {best['value']:.4f}, "
        f"parameters {best['params']}."
        if best
        else "No trial has completed yet."
    )
    markdown_path = root / SWEEP_RESULTS_MARKDOWN
    atomic_write_text(markdown_path, "\n".join(lines) + "\n")
    return OptunaReport(best, csv_path, markdown_path)


def _trial_cell(value: object) -> str:
    return "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
