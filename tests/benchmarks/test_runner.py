"""Plumbing of ``python -m benchmarks.run``: case selection, JSON results, the markdown table. No timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import run as runner
from benchmarks.report import render, results_table

REPO = Path(__file__).resolve().parents[2]


def test_parse_cases_letters_names_and_unknown():
    assert runner.parse_cases("c,a") == ["a", "c"]
    assert runner.parse_cases("data_path, memory") == ["a", "e"]
    with pytest.raises(SystemExit, match="unknown case 'x'"):
        runner.parse_cases("x")


def test_results_table_formats_cells():
    table = results_table(["a", "b"], [{"a": 1234.5, "b": True}, {"a": "x|y", "b": False}])
    lines = table.splitlines()
    assert lines[0] == "| a | b |" and lines[1] == "|---|---|"
    assert lines[2] == "| 1,234 | met |"
    assert lines[3] == "| x\\|y | **not met** |"


def test_runner_writes_json_and_readme_for_a_case(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "CASES", {"z": ("smoke", "tests.benchmarks.smoke_case")})
    results, readme = tmp_path / "results", tmp_path / "README.md"
    argv = ["--cases", "z", "--quick", "--results", str(results), "--readme", str(readme)]
    argv += ["--work", str(tmp_path / "work"), "--conditions", "test run"]
    assert runner.main(argv) == 0
    data = json.loads((results / "smoke.json").read_text())
    assert data["status"] == "ok" and data["quick"] is True and data["conditions"] == "test run"
    assert data["machine"]["cores"] >= 1 and data["peak_rss_mb"] > 0
    assert (tmp_path / "work" / "smoke" / "touched").is_file()
    text = readme.read_text()
    assert "## Machine" in text and "test run" in text
    assert "| z | value vs one | 1.5x | >= 1x | met |" in text
    assert "| z | value vs two | 0.5x | >= 1x | **not met** |" in text
    assert "| one | 1.50 |" in text and "| two\\|pipe | - |" in text


def test_failed_case_is_reported_not_raised(tmp_path):
    result = {"case": "q", "title": "Broken", "status": "error", "error": "RuntimeError: boom", "rows": []}
    text = render([result])
    assert "**Failed:** `RuntimeError: boom`" in text


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("HF_AIDETECT_BENCH_TESTS"), reason="set HF_AIDETECT_BENCH_TESTS=1 (takes 20-60 s)"
)
def test_real_quick_case_end_to_end(tmp_path):
    """The data path case at --quick sizes through the real runner (about 20-60 s on 2 cores)."""
    cmd = [sys.executable, "-m", "benchmarks.run", "--cases", "a", "--quick"]
    cmd += ["--results", str(tmp_path), "--readme", str(tmp_path / "README.md")]
    subprocess.run(cmd, cwd=REPO, check=True, timeout=600)
    data = json.loads((tmp_path / "data_path.json").read_text())
    assert data["status"] == "ok"
    assert {row["path"] for row in data["rows"]} >= {"raw PIL decode + 224 px crop (limit)"}
    assert all(t["met"] in (True, False) for t in data["targets"])
    assert "## a: Data path throughput" in (tmp_path / "README.md").read_text()
