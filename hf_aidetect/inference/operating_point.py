"""One operating point: which threshold an evaluation uses, and folding it into the model for good.

A threshold comes from ``--threshold``, from tuning on a labelled validation set (at least
:data:`~hf_aidetect.inference.threshold.MIN_IMAGES_PER_CLASS` images per class), or from the model itself
(0.5 = its top label, unless an older hf_aidetect left a ``fake_threshold`` in ``config.json``).

Saving a threshold folds it into the classifier's bias (:mod:`hf_aidetect.models.operating_point`): the
model's P(fake) is then 0.5 exactly at the tuned threshold, so ``pipeline("image-classification")``'s top
label, ``hf-aidetect predict``, the model card and the ``model-index`` metrics all use one rule. The folder
records it in ``config.json`` as ``operating_point`` (cumulative logit shift, how and on what it was tuned).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset

from hf_aidetect.errors import ConfigError
from hf_aidetect.inference.loading import Detector
from hf_aidetect.inference.scoring import dataset_labels, score_dataset
from hf_aidetect.inference.threshold import (
    CONFIG_KEY,
    DEFAULT_THRESHOLD,
    MIN_IMAGES_PER_CLASS,
    check_tuning_counts,
    choose_threshold,
    logit,
    resolve_threshold,
    sigmoid,
    validate_threshold,
)

logger = logging.getLogger(__name__)

OPERATING_POINT_KEY = "operating_point"
RULE = "fake iff P(fake) >= 0.5 (the top label)"


@dataclass
class ThresholdDecision:
    """The threshold an evaluation applies to P(fake), where it came from, and whether it was folded in."""

    value: float
    source: str
    tuned: dict[str, Any] | None = None
    folded: dict[str, Any] | None = None
    saved_to: str | None = None

    @property
    def can_fold(self) -> bool:
        """Only a tuned or fixed threshold is worth folding (a model's own one already is its rule)."""
        return self.tuned is not None or self.source.startswith("fixed")

    def to_dict(self) -> dict[str, Any]:
        out = {key: value for key, value in asdict(self).items() if value is not None and key != "tuned"}
        if self.tuned is not None:
            out["validation"] = self.tuned  # the report's name for the tuning statistics
        return out


def decide_threshold(
    detector: Detector,
    *,
    threshold: float | None = None,
    tuning: Dataset | None = None,
    tuning_name: str = "the validation split",
    tuning_scores: np.ndarray | None = None,
    target_fpr: float | None = None,
    min_per_class: int = MIN_IMAGES_PER_CLASS,
    strict: bool = False,
    score_kwargs: dict[str, Any] | None = None,
) -> ThresholdDecision:
    """``threshold`` when given; else tuned on ``tuning``; else the model's own (see the module doc).

    Too little tuning data raises :class:`ConfigError` when ``strict`` (an explicit ``--tune-on``), else it is
    logged and the model's own threshold is kept (the end of a training run on a small validation split).
    """
    if threshold is not None:
        return ThresholdDecision(validate_threshold(threshold, "--threshold"), "fixed (--threshold)")
    reason = None
    if tuning is not None:
        labels = dataset_labels(tuning)
        try:
            check_tuning_counts(labels, min_per_class, tuning_name)
            if tuning_scores is None:
                tuning_scores = score_dataset(detector, tuning, desc="tune", **(score_kwargs or {}))
            choice = choose_threshold(
                labels, tuning_scores, target_fpr=target_fpr, min_per_class=min_per_class, where=tuning_name
            )
        except ConfigError as error:
            if strict:
                raise
            reason = str(error)
        else:
            n_real = int((labels == 0).sum())
            if target_fpr and n_real * target_fpr < 1:
                logger.warning(
                    "--target-fpr %g is below 1 / %d (the real images of %s): the threshold sits at FPR 0",
                    target_fpr, n_real, tuning_name,
                )  # fmt: skip
            tuned = {
                **choice.to_dict(),
                "tuned_on": tuning_name,
                "num_real": int((labels == 0).sum()),
                "num_fake": int((labels == 1).sum()),
            }
            return ThresholdDecision(choice.threshold, f"tuned on {tuning_name}", tuned=tuned)
    value, origin = resolve_threshold(None, detector.config)
    if reason is not None:
        logger.warning("Threshold not tuned, the model's own is kept (%.4f): %s", value, reason)
        return ThresholdDecision(value, f"{origin} (not tuned: too few validation images)")
    return ThresholdDecision(value, origin)


def example_batch(detector: Detector, dataset: Dataset, count: int = 4) -> torch.Tensor:
    """A few preprocessed rows of ``dataset`` on the model's device and dtype, to verify a fold with."""
    rows = dataset.with_format(None).select(range(min(count, len(dataset))))
    pixels = detector.transform({"image": rows["image"]})["pixel_values"]
    dtype = next(detector.model.parameters()).dtype
    return pixels.to(detector.device, dtype=dtype)


def fold_decision(
    detector: Detector,
    decision: ThresholdDecision,
    example: torch.Tensor,
    model_dir: str | Path | None = None,
) -> tuple[ThresholdDecision, float]:
    """Fold ``decision.value`` into ``detector.model`` (and the saved folder ``model_dir``).

    Returns the decision as it now reads (0.5 on the model's new scores) and the logit shift applied, by
    which every P(fake) computed before the fold moves (see ``score_table.shift_scores``).
    """
    from hf_aidetect.models.operating_point import fold_logit_shift, update_config_file, write_folded_biases

    config = detector.model.config
    result = fold_logit_shift(detector.model, logit(decision.value), example, detector.fake_index)
    previous = float((getattr(config, OPERATING_POINT_KEY, None) or {}).get("logit_shift", 0.0))
    total = previous + result.applied_shift
    record = {
        "rule": RULE,
        "logit_shift": total,
        "threshold_on_unshifted_scores": sigmoid(total),
        "parameters": result.parameters,
        "source": decision.source,
        "tuning": decision.tuned,
    }
    setattr(config, OPERATING_POINT_KEY, record)
    if hasattr(config, CONFIG_KEY):
        delattr(config, CONFIG_KEY)  # a legacy threshold would be applied on top of the fold
    folded = {
        "raw_threshold": decision.value,
        "logit_shift": result.applied_shift,
        "total_logit_shift": total,
    }
    saved_to = None
    if model_dir is not None:
        write_folded_biases(model_dir, detector.model, result.parameters)
        saved_to = str(
            update_config_file(model_dir, {OPERATING_POINT_KEY: record}, remove_keys=(CONFIG_KEY,))
        )
        logger.info(
            "Folded threshold %.4f (logit shift %.4f) into %s: P(fake) = 0.5 is now the decision boundary",
            decision.value,
            result.applied_shift,
            model_dir,
        )
    source = f"{decision.source}, folded into the model"
    new = replace(decision, value=DEFAULT_THRESHOLD, source=source, folded=folded, saved_to=saved_to)
    return new, result.applied_shift
