"""Case f's plumbing (benchmarks/case_quality.py): plan, commands, failed rows, targets, report."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from benchmarks import case_quality
from benchmarks import run as runner
from benchmarks.quality.options import add_quality_arguments, forwarded
from benchmarks.quality.tables import render_result
from benchmarks.quality.targets import cross_targets, dataset_targets
from benchmarks.report import render
from hf_aidetect.recipes import recipe_path

REPO = Path(__file__).resolve().parents[2]


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_quality_arguments(parser)
    return parser.parse_args(list(argv))


def _record(dataset: str, model: str, kind: str, acc: float, wall: float, **extra) -> dict:
    return {"dataset": dataset, "model": model, "kind": kind, "recipe": f"demo_{model}.yaml", "status": "ok",
            "test_accuracy": acc, "test_roc_auc": acc, "wall_s": wall, "input_px": 96, **extra}  # fmt: skip


def test_plan_default_subset_and_quick():
    specs, cross, held = case_quality.suite_plan(_args(), quick=False)
    assert [s.name for s in specs] == [*case_quality.DEFAULT_SUITE, *case_quality.CHECK_SETS]
    assert cross is not None and cross.name == "cross128" and held is None
    specs, cross, _ = case_quality.suite_plan(_args("--datasets", "nearest128,bilinear256"), quick=False)
    assert [s.name for s in specs] == ["nearest128", "bilinear256"] and cross is None
    specs, cross, held = case_quality.suite_plan(
        _args("--datasets", "cross128", "--held-out", "denoiser"), False
    )
    assert specs == [] and cross.name == "cross128" and held == ["denoiser"]
    specs, cross, held = case_quality.suite_plan(_args(), quick=True)
    assert len(specs) == 1 and specs[0].size == 128 and specs[0].train_per_class <= 50
    assert cross.train_per_class <= 50 and held == [cross.families[0]]
    with pytest.raises(ValueError, match="unknown suite dataset"):
        case_quality.suite_plan(_args("--datasets", "nope"), quick=False)


def test_runner_forwards_case_f_options():
    args = runner.build_parser().parse_args(
        ["--cases", "f", "--datasets", "tconv128", "--recipe-args=--num_train_epochs 3", "--no-cross"]
    )
    assert forwarded(args) == ["--datasets=tconv128", "--recipe-args=--num_train_epochs 3", "--no-cross"]
    assert runner.parse_cases("quality") == ["f"]


def test_recipe_hyperparameters_are_read_at_run_time(tmp_path: Path):
    values = yaml.safe_load((recipe_path("demo_cnn")).read_text())
    values.update(learning_rate=0.0123, num_train_epochs=7, weight_decay=0.321, seed=5)
    path = tmp_path / "candidate.yaml"
    path.write_text(yaml.safe_dump(values))
    recipe = case_quality.Recipe("cnn", path, ["--per_device_train_batch_size", "16"])
    stock = recipe.stock_command(tmp_path / "flat", tmp_path / "init", tmp_path / "out")
    for flag in (
        "--learning_rate=0.0123",
        "--epochs=7",
        "--weight_decay=0.321",
        "--seed=5",
        "--batch_size=16",
    ):
        assert flag in stock
    ours = recipe.ours_command(tmp_path / "data", tmp_path / "out")
    assert ours[ours.index("--config") + 1] == str(path) and ours[-2:] == [
        "--per_device_train_batch_size",
        "16",
    ]
    assert recipe.input_px == values["image_size"]


def test_failed_and_timed_out_runs_become_failed_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    recipe = case_quality.Recipe("cnn", recipe_path("demo_cnn"), [])
    monkeypatch.setattr(recipe, "ours_command", lambda *_: [sys.executable, "-c", "print('boom'); exit(3)"])
    failed = case_quality.run_ours(recipe, tmp_path, tmp_path / "run", timeout=60)
    assert failed["status"] == "failed" and "exit 3: boom" in failed["error"]
    monkeypatch.setattr(
        recipe, "ours_command", lambda *_: [sys.executable, "-c", "import time; time.sleep(9)"]
    )
    slow = case_quality.run_ours(recipe, tmp_path, tmp_path / "slow", timeout=0.5)
    assert slow["status"] == "failed" and "timed out" in slow["error"]


def test_run_order_vit_subset_and_partial_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """CNN pairs first, then the cross rows, then ViT only where asked; --out holds every finished row."""
    calls: list[tuple[str, str]] = []

    def fake_run(kind: str):
        def run(recipe, folder, run_dir, timeout):
            calls.append((kind, f"{recipe.model}:{run_dir.parent.name}/{run_dir.name}"))
            saved = json.loads(out.read_text())["records"] if out.is_file() else []
            return {
                "model": recipe.model,
                "kind": kind,
                "recipe": "r",
                "status": "ok",
                "test_accuracy": 0.5,
                "test_roc_auc": 0.5,
                "test_average_precision": 0.5,
                "wall_s": 1.0,
                "seen": len(saved),
            }

        return run

    monkeypatch.setattr(case_quality, "run_ours", fake_run("ours"))
    monkeypatch.setattr(case_quality, "run_stock", fake_run("stock"))
    monkeypatch.setattr(case_quality, "build_dataset", lambda spec, seed, cache: _tiny_folder(tmp_path, spec))
    monkeypatch.setattr(case_quality, "smoothness_ap", lambda view: 0.75)  # the files hold no pixels
    out = tmp_path / "quality.json"
    args = _args("--datasets", "tconv128,nearest128,cross128", "--vit-datasets", "nearest128",
                 "--held-out", "denoiser")  # fmt: skip
    args.out = out
    result = case_quality.run(False, tmp_path / "work", args)
    assert [c[1] for c in calls] == [
        "cnn:tconv128/stock_cnn", "cnn:tconv128/ours_cnn", "cnn:nearest128/stock_cnn",
        "cnn:nearest128/ours_cnn", "cnn:cross128/without_denoiser_cnn", "vit:nearest128/stock_vit",
        "vit:nearest128/ours_vit",
    ]  # fmt: skip
    assert json.loads(out.read_text())["status"] == "partial"
    assert [r["seen"] for r in result["records"]][-2:] == [4, 4]  # the file had both CNN pairs by then
    assert result["cross_records"][0]["held_out"] == "denoiser"
    assert result["cross_records"][0]["smoothness_ap"] == 0.75  # the reference AP on the same test view


def _tiny_folder(tmp_path: Path, spec) -> Path:
    """A folder with the suite's layout (no pixels needed: the runs are faked)."""
    folder = tmp_path / "data" / spec.name
    for family in spec.families:
        for split in ("train", "valid", "test"):
            for sub in ("real", f"fake/{family}"):
                path = folder / "real_vs_fake" / "real-vs-fake" / split / sub / "00000.jpg"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"x")
    return folder


def test_dataset_targets_met_and_not_met():
    records = [
        _record("a", "cnn", "stock", 0.80, 20.0), _record("a", "cnn", "ours", 0.99, 10.0),
        _record("b", "cnn", "stock", 0.996, 10.0), _record("b", "cnn", "ours", 0.997, 12.0),
        _record("c", "cnn", "stock", 0.90, 10.0), {**_record("c", "cnn", "ours", 0, 0), "status": "failed"},
    ]  # fmt: skip
    met = {name: [t["met"] for t in dataset_targets(records, name)] for name in "abc"}
    assert met["a"] == [True, True, True]
    assert met["b"] == [True, True, False]  # both saturated counts; slower than stock does not
    assert met["c"] == [None, None, None]  # a failed run is unmeasured, never met
    near = [_record("d", "cnn", "stock", 0.95, 10.0), _record("d", "cnn", "ours", 0.99, 10.0)]
    assert [t["met"] for t in dataset_targets(near, "d")] == [True, False, True]  # +4 points < 5
    assert (
        dataset_targets(near, "d", shown_as="d (check set)")[0]["target"]
        == "d (check set): demo_cnn test accuracy"
    )


def test_cross_targets_and_mean():
    records = [
        {"dataset": "x", "held_out": "f1", "model": "cnn", "status": "ok", "test_average_precision": 0.97},
        {"dataset": "x", "held_out": "f2", "model": "cnn", "status": "ok", "test_average_precision": 0.90},
    ]
    rows = cross_targets(records)
    assert [r["met"] for r in rows] == [True, False, False]
    assert rows[-1]["measured"] == "0.935"
    records.append({"dataset": "x", "held_out": "f3", "model": "cnn", "status": "failed", "error": "x"})
    assert cross_targets(records)[-1]["met"] is None  # incomplete: no verdict on the mean


def test_report_renders_per_dataset_and_cross_tables():
    records = [_record("tconv128", m, k, 0.9, 10.0) for m in ("cnn", "vit") for k in ("stock", "ours")]
    cross = [{"dataset": "cross128", "held_out": "denoiser", "model": "cnn", "status": "ok", "wall_s": 5.0,
              "test_accuracy": 0.8, "test_average_precision": 0.85, "test_roc_auc": 0.9,
              "smoothness_ap": 0.83}]  # fmt: skip
    datasets = [{"dataset": "tconv128", "spec": "128 px, transposed_conv", "description": "", "ready_s": 0.1}]
    settings = {"cnn": {"recipe": "recipes/demo_cnn.yaml", "extra_args": [], "input_px": 96, "epochs": 12.0}}
    body = render_result(records, cross, datasets, settings, quick=False)
    result = {"case": "f", "title": "Detection quality", "status": "ok", **body}
    text = render([json.loads(json.dumps(result))])
    assert "**tconv128: 128 px, transposed_conv**" in text
    assert "| ours: demo_cnn.yaml | cnn | 96 | 0.90 | 0.90 | 10.00 | - | - | ok |" in text
    assert (
        "**Cross-generator: cross128" in text
        and "| denoiser | cnn | 0.80 | 0.85 | 0.83 | 0.90 | 5.00 | ok |" in text
    )
    assert "| f | cross128: demo_cnn AP on held-out denoiser | 0.850 | >= 0.95 | **not met** |" in text
    assert "| tconv128 | suite | cnn | 0.90 | 0.90 | 0.00 |" in text


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("HF_AIDETECT_BENCH_TESTS"), reason="set HF_AIDETECT_BENCH_TESTS=1 (takes 1-3 min)"
)
def test_real_quick_quality_case(tmp_path: Path):
    """Case f at --quick sizes through the real runner: data, 5 training subprocesses, report."""
    cmd = [sys.executable, "-m", "benchmarks.run", "--cases", "f", "--quick", "--results", str(tmp_path)]
    cmd += ["--readme", str(tmp_path / "README.md"), "--data-cache", str(tmp_path / "data")]
    subprocess.run(cmd, cwd=REPO, check=True, timeout=900)
    data = json.loads((tmp_path / "quality.json").read_text())
    assert data["status"] == "ok"
    assert {(r["model"], r["kind"]) for r in data["records"]} == {(m, k) for m in ("cnn", "vit")
                                                                   for k in ("ours", "stock")}  # fmt: skip
    assert all(r["status"] == "ok" for r in data["records"] + data["cross_records"])
    assert all(0.0 <= r["test_roc_auc"] <= 1.0 for r in data["records"])
    assert "**Cross-generator" in (tmp_path / "README.md").read_text()


def test_partial_result_is_labelled_not_failed():
    text = render([{"case": "f", "title": "Quality", "status": "partial", "rows": [], "tables": []}])
    assert "**Stopped early:**" in text and "**Failed:**" not in text
