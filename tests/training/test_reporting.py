"""End-of-run report options: argument checks, all_results.json keys, sweep points skip it by default."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hf_aidetect.errors import ConfigError
from hf_aidetect.training.arguments import ScriptArguments
from hf_aidetect.training.config import parse_recipe_args
from hf_aidetect.training.reporting import threshold_results
from hf_aidetect.training.sweep import SweepSpec, point_argv
from tests.training.conftest import TINY_VIT


def test_report_arguments_default_on_and_are_checked() -> None:
    args = ScriptArguments()
    assert args.evaluation_report and args.evaluation_target_fpr is None and args.robustness_samples > 0
    with pytest.raises(ConfigError, match="evaluation_target_fpr"):
        ScriptArguments(evaluation_target_fpr=1.5)
    with pytest.raises(ConfigError, match="robustness_samples"):
        ScriptArguments(robustness_samples=-1)


def test_threshold_results_add_keys_without_touching_test_metrics() -> None:
    report = {
        "split": "test",
        "threshold": {"value": 0.3, "source": "tuned on validation"},
        "metrics": {"accuracy": 0.9, "balanced_accuracy": 0.8, "roc_auc": 0.95, "confusion_matrix": [[1]]},
    }
    assert threshold_results(report) == {
        "fake_threshold": 0.3,
        "test_accuracy_at_threshold": 0.9,
        "test_balanced_accuracy_at_threshold": 0.8,
    }


def _sweep(tmp_path: Path, overrides: dict) -> SweepSpec:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(TINY_VIT), encoding="utf-8")
    spec = {"base": "base.yaml", "grid": {"learning_rate": [0.01]}, "overrides": overrides}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return SweepSpec.from_yaml(tmp_path / "sweep.yaml", output_root=tmp_path / "out")


@pytest.mark.parametrize(("overrides", "expected"), [({}, False), ({"evaluation_report": True}, True)])
def test_sweep_points_skip_the_report_unless_asked(tmp_path: Path, overrides: dict, expected: bool) -> None:
    spec = _sweep(tmp_path, overrides)
    script_args, _, _ = parse_recipe_args([*point_argv(spec, spec.points()[0]), "--dataset", "data"])
    assert script_args.evaluation_report is expected
