"""End-of-run evaluation report: ``OUTPUT_DIR/evaluation/`` and the tuned threshold folded into the model.

The threshold is tuned on the validation split when it holds at least
:data:`~hf_aidetect.inference.threshold.MIN_IMAGES_PER_CLASS` images per class (otherwise the model keeps its
argmax rule and a warning says why) and folded into the saved classifier bias, so the saved model's top label
is the tuned decision (see :mod:`hf_aidetect.inference.operating_point`).

Called by :func:`hf_aidetect.training.runner.train` on the main process only, after the best weights are
saved and every collective operation is done: :func:`hf_aidetect.inference.evaluation.evaluate_model` is plain
single-process inference, so other ranks skip it. The same code backs ``hf-aidetect evaluate``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from datasets import DatasetDict

from hf_aidetect.errors import one_line
from hf_aidetect.files import atomic_directory
from hf_aidetect.files.layout import EVALUATION_DIR
from hf_aidetect.training.arguments import ReportArguments

logger = logging.getLogger(__name__)

# Metrics of the report (at the tuned threshold) copied into all_results.json as ``test_<name>_at_threshold``.
THRESHOLD_METRICS = ("accuracy", "balanced_accuracy", "recall_real", "recall_fake", "f1_macro")


def _report_model(trainer: Any) -> Any:
    """The best model as saved: unwrapped, in fp32; sharded (FSDP / DeepSpeed) runs reload the saved copy.

    Under mixed precision accelerate patches ``model.forward`` with an autocast wrapper; the report must score
    (and fold the threshold into) the model users load, which runs in fp32, so the wrapper is removed.
    """
    if trainer.is_fsdp_enabled or trainer.is_deepspeed_enabled:
        return type(trainer.model).from_pretrained(trainer.args.output_dir)
    return trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)


def threshold_results(report: dict[str, Any]) -> dict[str, Any]:
    """``all_results.json`` keys for the report: the threshold and ``test_*_at_threshold``.

    ``fake_threshold`` is the threshold on the saved model's P(fake) (0.5 once a tuned one is folded in;
    ``tuned_threshold`` and ``operating_point_logit_shift`` then say what was folded). The ``test_*`` keys of
    the Trainer evaluation (argmax of the weights before the fold) stay as they are; these extra keys are
    named so the model card does not mistake them for the threshold of those metrics.
    """
    metrics = report.get("metrics") or {}
    split = report.get("split", "test")
    info = report["threshold"]
    results: dict[str, Any] = {"fake_threshold": float(info["value"])}
    folded = info.get("folded")
    if folded:
        results["tuned_threshold"] = float(folded["raw_threshold"])
        results["operating_point_logit_shift"] = float(folded["total_logit_shift"])
    for name in THRESHOLD_METRICS:
        if name in metrics:
            results[f"{split}_{name}_at_threshold"] = metrics[name]
    for row in (report.get("operating_points") or {}).get("tpr_at_fpr", []):
        results[f"{split}_tpr_at_fpr_{row['fpr']:g}"] = row["tpr"]
    return results


def write_evaluation_report(
    trainer: Any,
    splits: DatasetDict,
    report_args: ReportArguments,
    scores: Mapping[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Write ``OUTPUT_DIR/evaluation/`` for the best model; return its :func:`threshold_results`.

    ``scores``: P(fake) of the validation / test rows from the Trainer's final evaluation, so the report
    does not run the model over those splits a second time (the robustness and gallery passes still do).

    A failure is logged, not raised (returns ``{}``): the model and metrics are saved, a push must still run.
    """
    from hf_aidetect.inference.evaluation import evaluate_model

    args = trainer.args
    output_dir = Path(args.output_dir)
    try:
        model = _report_model(trainer)
        with atomic_directory(output_dir / EVALUATION_DIR, replace=True) as partial:  # whole or not at all
            report = evaluate_model(
                model,
                trainer.processing_class,
                {name: splits[name] for name in ("validation", "test")},  # the transform is dropped there
                partial,
                tune_on="validation",
                target_fpr=report_args.evaluation_target_fpr,
                fold_into=output_dir,
                robustness=report_args.robustness_samples > 0,
                robustness_samples=report_args.robustness_samples,
                batch_size=args.per_device_eval_batch_size,
                num_workers=None if args.dataloader_num_workers else 0,  # None: the inference layer picks
                seed=args.seed,
                scores=scores,
            )
    except Exception as error:  # any report failure must not lose the finished training (or its push)
        logger.debug("The evaluation report failed.", exc_info=True)
        logger.error(
            "The evaluation report failed (%s: %s); the model and metrics in %s are saved. Re-run it with "
            "`hf-aidetect evaluate %s DATA --output-dir %s`.",
            type(error).__name__,
            one_line(error),
            output_dir,
            output_dir,
            output_dir / EVALUATION_DIR,
        )
        return {}
    if getattr(model.config, "operating_point", None) is not None and model is not trainer.model:
        trainer.model.config.operating_point = model.config.operating_point  # the card reads the live config
    results = threshold_results(report)
    logger.info(
        "Evaluation report in %s: threshold %.4f (%s), test accuracy %.4f at it.",
        output_dir / EVALUATION_DIR,
        results["fake_threshold"],
        report["threshold"].get("source"),
        results.get("test_accuracy_at_threshold", float("nan")),
    )
    return results
