"""End-of-run report options: argument checks, all_results.json keys, sweep points skip it by default."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hf_aidetect.errors import ConfigError
from hf_aidetect.training.arguments import ReportArguments
from hf_aidetect.training.config import parse_recipe_args
from hf_aidetect.training.reporting import threshold_results
from hf_aidetect.training.sweep import SweepSpec, point_argv
from tests.training.conftest import TINY_VIT


def test_report_arguments_default_on_and_are_checked() -> None:
    args = ReportArguments()
    assert args.evaluation_report and args.evaluation_target_fpr is None and args.robustness_samples > 0
    with pytest.raises(ConfigError, match="evaluation_target_fpr"):
        ReportArguments(evaluation_target_fpr=1.5)
    with pytest.raises(ConfigError, match="robustness_samples"):
        ReportArguments(robustness_samples=-1)


def test_threshold_results_add_keys_without_touching_test_metrics() -> None:
    report = {
        "split": "test",
        "threshold": {"value": 0.3, "source": "tuned on validation"},
        "metrics": {"accuracy": 0.9, "balanced_accuracy": 0.8, "roc_auc": 0.95, "confusion_matrix": [[1]]},
        "operating_points": {"tpr_at_fpr": [{"fpr": 0.01, "tpr": 0.4}, {"fpr": 0.05, "tpr": 0.7}]},
    }
    assert threshold_results(report) == {
        "fake_threshold": 0.3,
        "test_accuracy_at_threshold": 0.9,
        "test_balanced_accuracy_at_threshold": 0.8,
        "test_tpr_at_fpr_0.01": 0.4,
        "test_tpr_at_fpr_0.05": 0.7,
    }
    folded = {"value": 0.5, "source": "tuned, folded into the model",
              "folded": {"raw_threshold": 0.3, "logit_shift": -0.85, "total_logit_shift": -0.85}}  # fmt: skip
    keys = threshold_results({**report, "threshold": folded})
    assert keys["fake_threshold"] == 0.5 and keys["tuned_threshold"] == 0.3
    assert keys["operating_point_logit_shift"] == -0.85


def _sweep(tmp_path: Path, overrides: dict) -> SweepSpec:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(TINY_VIT), encoding="utf-8")
    spec = {"base": "base.yaml", "grid": {"learning_rate": [0.01]}, "overrides": overrides}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return SweepSpec.from_yaml(tmp_path / "sweep.yaml", output_root=tmp_path / "out")


@pytest.mark.parametrize(("overrides", "expected"), [({}, False), ({"evaluation_report": True}, True)])
def test_sweep_points_skip_the_report_unless_asked(tmp_path: Path, overrides: dict, expected: bool) -> None:
    spec = _sweep(tmp_path, overrides)
    script_args, _, _ = parse_recipe_args([*point_argv(spec, spec.points()[0]), "--dataset", "data"])
    assert script_args.report.evaluation_report is expected


def test_report_reuses_the_trainers_scores_for_validation_and_test(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from hf_aidetect.inference import evaluation, scoring
    from hf_aidetect.training.runner import train
    from tests.training.conftest import TINY_CNN, recipe_args

    clean_passes: list[str] = []
    real_score = scoring.score_dataset

    def counting(detector, dataset, *, perturbation=None, **kwargs):
        if perturbation is None:
            clean_passes.append(kwargs.get("desc", "?"))
        return real_score(detector, dataset, perturbation=perturbation, **kwargs)

    monkeypatch.setattr(evaluation, "score_dataset", counting)
    out = tmp_path / "out"
    args = recipe_args(
        tiny_data, out, TINY_CNN, num_train_epochs=1, evaluation_report=True, robustness_samples=0
    )
    results = train(*args)
    assert clean_passes == []  # neither validation nor test was run through the model a second time
    report = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert report["num_samples"] == 16
    assert report["metrics_at_0.5"]["roc_auc"] == pytest.approx(results["test_roc_auc"], abs=1e-6)
    assert report["metrics_at_0.5"]["accuracy"] == pytest.approx(results["test_accuracy"], abs=1e-6)


def test_fake_scores_are_the_softmax_of_the_trainers_logits_and_skip_mixed_precision() -> None:
    from types import SimpleNamespace

    import numpy as np

    from hf_aidetect.training.runner import fake_scores

    logits = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    args = SimpleNamespace(bf16=False, fp16=False)
    expected = np.exp(logits[:, 1]) / np.exp(logits).sum(axis=1)
    np.testing.assert_allclose(fake_scores(logits, 3, args), expected)
    assert fake_scores(logits, 4, args) is None  # not one score per row
    assert fake_scores(None, 3, args) is None
    args.bf16 = True
    assert fake_scores(logits, 3, args) is None


def test_the_report_folds_the_threshold_into_a_bf16_trained_model(tuning_data: Path, tmp_path: Path) -> None:
    """Accelerate wraps a mixed-precision model's forward in autocast; the report scores the fp32 model."""
    import json

    from hf_aidetect.training.runner import train
    from tests.training.conftest import TINY_CNN, recipe_args

    out = tmp_path / "out"
    args = recipe_args(
        tuning_data, out, TINY_CNN, num_train_epochs=1, evaluation_report=True, robustness_samples=0,
        bf16=True, use_cpu=True,
    )  # fmt: skip
    train(*args)
    threshold = json.loads((out / "evaluation" / "metrics.json").read_text())["threshold"]
    assert threshold["source"] == "tuned on the validation split, folded into the model", threshold
    config = json.loads((out / "config.json").read_text())
    assert config["operating_point"]["logit_shift"] == pytest.approx(threshold["folded"]["total_logit_shift"])
