"""Sweeps: grid expansion, per-point argv, skip-on-restart, failure handling, tables, a real tiny run."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from hf_aidetect.cli import main as cli_main
from hf_aidetect.errors import ConfigError
from hf_aidetect.files.layout import ALL_RESULTS
from hf_aidetect.training.sweep import (
    SubprocessRunner,
    SweepPoint,
    SweepSpec,
    point_argv,
    run_sweep,
)
from tests.training.conftest import write_checkpoint
from tests.utils import make_split_layout

TINY_BASE = """\
model_type: vit
config_overrides: {hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32,
                   patch_size: 8}
image_size: 16
num_train_epochs: 1
per_device_train_batch_size: 8
per_device_eval_batch_size: 16
report_to: none
write_model_card: false
validate_images: false
dataloader_num_workers: 0
"""


def write_sweep(folder: Path, grid: dict[str, list[Any]], **extra: Any) -> Path:
    (folder / "base.yaml").write_text(TINY_BASE)
    spec = {"base": "base.yaml", "output_root": str(folder / "out"), "grid": grid, **extra}
    path = folder / "grid.yaml"
    path.write_text(json.dumps(spec))  # JSON is YAML
    return path


class FakeRunner:
    """Writes all_results.json like train() would: accuracy peaks at lr 1e-3, batch 64. Records calls."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.calls: list[str] = []
        self.fail = fail or set()

    def __call__(self, argv: list[str], point: SweepPoint) -> dict[str, Any]:
        self.calls.append(point.name)
        if point.name in self.fail:
            raise RuntimeError("diverged")
        lr, batch = point.params["learning_rate"], point.params["per_device_train_batch_size"]
        accuracy = 0.9 - abs(lr - 1e-3) - abs(batch - 64) / 1000
        results = {
            "train_accuracy": accuracy + 0.05,
            "validation_accuracy": accuracy,
            "test_accuracy": accuracy - 0.01,
            "test_recall_real": 0.95,
            "test_recall_fake": 0.85,
            "validation_roc_auc": 0.97,
            "test_roc_auc": float("nan"),
            "train_runtime": 12.0,
        }
        (point.output_dir / ALL_RESULTS).write_text(json.dumps(results))
        return results


GRID = {"per_device_train_batch_size": [32, 64], "learning_rate": [1e-2, 1e-3]}


def test_points_are_the_grid_product_with_stable_folders(tmp_path: Path) -> None:
    spec = SweepSpec.from_yaml(write_sweep(tmp_path, GRID))
    assert spec.base == (tmp_path / "base.yaml").resolve()
    assert [p.name for p in spec.points()] == [
        "00_bs32_lr0.01",
        "01_bs32_lr0.001",
        "02_bs64_lr0.01",
        "03_bs64_lr0.001",
    ]
    assert spec.points()[3].params == {"per_device_train_batch_size": 64, "learning_rate": 1e-3}


def test_point_argv_order_and_resume(tmp_path: Path) -> None:
    spec = SweepSpec.from_yaml(write_sweep(tmp_path, GRID, overrides={"evaluate_train": True}))
    point = spec.points()[1]
    argv = point_argv(spec, point, ["--dataset", "data"])
    assert argv[:2] == ["--config", str(spec.base)]
    assert argv.index("--evaluate_train") < argv.index("--dataset") < argv.index("--learning_rate")
    assert argv[-2:] == ["--output_dir", str(point.output_dir)]
    (point.output_dir / "checkpoint-3").mkdir(parents=True)  # an interrupted save: nothing to resume
    assert "--resume_from_checkpoint" not in point_argv(spec, point)
    write_checkpoint(point.output_dir / "checkpoint-2", step=2)
    assert point_argv(spec, point)[-2:] == ["--resume_from_checkpoint", "last"]


@pytest.mark.parametrize(
    ("grid", "extra", "match"),
    [
        ({"learnin_rate": [1e-3]}, [], "learnin_rate"),
        ({"output_dir": ["x"]}, [], "output_dir"),
        (GRID, ["--learning_rate", "3"], "--learning_rate is set by the sweep"),
        (GRID, ["--output_dir=x"], "--output_dir is set by the sweep"),
    ],
)
def test_bad_sweeps_are_config_errors(tmp_path: Path, grid: dict, extra: list[str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        spec = SweepSpec.from_yaml(write_sweep(tmp_path, grid))
        run_sweep(spec, extra, runner=FakeRunner())


def test_missing_base_recipe_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text("base: nowhere.yaml\ngrid: {learning_rate: [0.1]}\n")
    with pytest.raises(ConfigError, match=r"nowhere\.yaml"):
        SweepSpec.from_yaml(path)


def test_finished_points_are_skipped_on_restart(tmp_path: Path) -> None:
    spec = SweepSpec.from_yaml(write_sweep(tmp_path, GRID))
    first = FakeRunner()
    run_sweep(spec, runner=first)
    assert first.calls == [p.name for p in spec.points()]
    again = FakeRunner()
    report = run_sweep(spec, runner=again)
    assert again.calls == []
    assert [row["status"] for row in report.rows] == ["done"] * 4
    (spec.points()[2].output_dir / ALL_RESULTS).unlink()  # as if point 2 had been interrupted
    third = FakeRunner()
    run_sweep(spec, runner=third)
    assert third.calls == [spec.points()[2].name]


def test_a_failed_point_does_not_stop_the_sweep_and_is_retried(tmp_path: Path) -> None:
    spec = SweepSpec.from_yaml(write_sweep(tmp_path, GRID))
    bad = spec.points()[0].name
    report = run_sweep(spec, runner=FakeRunner(fail={bad}))
    assert report.failed == [bad]
    assert [row["status"] for row in report.rows] == ["failed", "done", "done", "done"]
    assert "diverged" in json.loads((spec.points()[0].output_dir / "sweep_point.json").read_text())["error"]
    retry = FakeRunner()
    report = run_sweep(spec, runner=retry)
    assert retry.calls == [bad] and report.failed == []


def test_tables_hold_every_point_and_name_the_best(tmp_path: Path) -> None:
    spec = SweepSpec.from_yaml(write_sweep(tmp_path, GRID))
    report = run_sweep(spec, runner=FakeRunner())
    assert report.best is not None and report.best["point"] == "03_bs64_lr0.001"
    with report.csv_path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["point"] for r in rows] == [p.name for p in spec.points()]
    assert float(rows[3]["validation_accuracy"]) == pytest.approx(0.9)
    assert float(rows[0]["learning_rate"]) == 0.01 and rows[0]["per_device_train_batch_size"] == "32"
    for column in ("train_accuracy", "test_accuracy", "test_recall_real", "test_recall_fake", "test_roc_auc"):
        assert column in rows[0]
    markdown = report.markdown_path.read_text()
    assert (
        "| 03_bs64_lr0.001 **(best)** | 64 | 0.001 | 95.00 % | 90.00 % | 89.00 % | 95.00 % | 85.00 %"
        in markdown
    )
    assert "**Best point:** `03_bs64_lr0.001`" in markdown and "validation_accuracy = 0.9000" in markdown
    summary = json.loads((spec.output_root / "sweep_summary.json").read_text())
    assert summary["best"]["point"] == "03_bs64_lr0.001"


def test_cli_dry_run_lists_points(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_sweep(tmp_path, GRID)
    assert cli_main(["sweep", str(path), "--dry-run", "--dataset", "data"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[0].startswith("00_bs32_lr0.01 [todo]: --config")
    assert cli_main(["sweep", str(path), "--dry-run", "--learning_rate", "1"]) == 2


def test_real_tiny_sweep_in_a_child_process_then_skipped(tmp_path: Path) -> None:
    data = make_split_layout(tmp_path / "data", size=16)
    spec = SweepSpec.from_yaml(write_sweep(tmp_path, {"learning_rate": [1e-3]}))
    report = run_sweep(spec, ["--dataset", str(data)], runner=SubprocessRunner())
    assert report.failed == [], (spec.points()[0].output_dir / "train.log").read_text()[-3000:]
    row = report.rows[0]
    assert 0.0 <= row["test_accuracy"] <= 1.0 and row["wall_time_s"] > 0
    assert (spec.points()[0].output_dir / "config.json").is_file()
    never = FakeRunner(fail={spec.points()[0].name})
    assert run_sweep(spec, ["--dataset", str(data)], runner=never).failed == [] and never.calls == []


def test_optuna_space_from_grid() -> None:
    optuna = pytest.importorskip("optuna")
    from hf_aidetect.training.sweep_optuna import optuna_space

    space = optuna_space({"learning_rate": [1e-4, 1e-2], "per_device_train_batch_size": [32, 64]})
    study = optuna.create_study()
    trial = study.ask()
    params = space(trial)
    assert 1e-4 <= params["learning_rate"] <= 1e-2 and params["per_device_train_batch_size"] in (32, 64)
    distribution = trial.distributions["learning_rate"]
    assert distribution.log and (distribution.low, distribution.high) == (1e-4, 1e-2)


def test_interrupted_point_is_pending_and_custom_select_metric_is_a_column(tmp_path: Path) -> None:
    from hf_aidetect.training.sweep import collect_results

    spec = SweepSpec.from_yaml(write_sweep(tmp_path, GRID, select_metric="validation_f1_macro"))
    point = spec.points()[0]
    point.output_dir.mkdir(parents=True)
    (point.output_dir / "sweep_point.json").write_text(json.dumps({"status": "running"}))
    report = collect_results(spec)
    assert [row["status"] for row in report.rows] == ["pending"] * 4 and report.best is None
    assert "validation_f1_macro" in report.csv_path.read_text().splitlines()[0]
    assert "No finished point" in report.markdown_path.read_text()
