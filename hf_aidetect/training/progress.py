"""What a training run says while it runs and when it ends, in lines a person reads.

* :class:`TrainingProgress` replaces the Trainer's progress callback (and its ``disable_tqdm`` printer): the
  same bars, but one compact line per evaluation (accuracy, ROC-AUC, loss, the best so far, early
  stopping's count) instead of a ~900-character metrics dict, and short train-loss lines.
* :func:`training_summary`: the last lines of a run: wall time, the best checkpoint, the test figures and
  where every output went, with the next commands.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transformers import TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_callback import ProgressCallback

from hf_aidetect.files.layout import ALL_RESULTS, EPOCH_METRICS, EVALUATION_DIR, MODEL_CARD, REPORT_MARKDOWN

logger = logging.getLogger(__name__)

# Shown in every epoch line, in this order (the metric picking the best checkpoint is added when not here).
EPOCH_METRICS_SHOWN = (("accuracy", "accuracy"), ("roc_auc", "ROC-AUC"), ("loss", "loss"))
NAMES = dict(EPOCH_METRICS_SHOWN) | {"balanced_accuracy": "balanced accuracy", "f1_fake": "F1 (fake)"}


def format_metric(value: float | None) -> str:
    """A metric for a log line, to four significant digits (``0.00047``, not ``0.00047000034828670323``)."""
    if value is None:
        return "none"
    return "nan" if isinstance(value, float) and math.isnan(value) else f"{value:.4g}"


def _epoch_text(value: float | None) -> str:
    if value is None:
        return "?"
    return str(round(value)) if abs(value - round(value)) < 1e-6 else f"{value:.2f}"


def format_duration(seconds: float) -> str:
    """``42 s``, ``3 min 07 s``, ``2 h 05 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class TrainingProgress(ProgressCallback):
    """The Trainer's bars (unless ``disable_tqdm``) with compact lines (via the bar, else the log)."""

    def __init__(self) -> None:
        super().__init__()
        self.best: tuple[float, float | None] | None = None  # (value, epoch)
        self.stale = 0

    # -- bars: only when wanted -------------------------------------------------------------------------
    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ):
        self.current_step = 0
        if state.best_metric is not None:  # a resumed run knows its best so far
            self.best = (state.best_metric, None)
        if not args.disable_tqdm:
            super().on_train_begin(args, state, control, **kw)

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any):
        if self.training_bar is not None:
            super().on_step_end(args, state, control, **kw)

    def on_prediction_step(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ):
        if not args.disable_tqdm:
            super().on_prediction_step(args, state, control, **kw)

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any):
        if self.training_bar is not None:
            super().on_train_end(args, state, control, **kw)

    # -- lines ---------------------------------------------------------------------------------------------
    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: Mapping[str, float] | None = None,
        **kw: Any,
    ):
        super().on_evaluate(args, state, control, **kw)  # closes the evaluation bar
        if state.is_world_process_zero and metrics:
            self._write(self.epoch_line(args, state, metrics))

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: Mapping[str, Any] | None = None,
        **kw: Any,
    ):
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return  # evaluations have their epoch line; the final train metrics are in the summary
        parts = [f"step {state.global_step:,}/{state.max_steps:,}", f"epoch {_epoch_text(logs.get('epoch'))}"]
        parts.append(f"loss {format_metric(logs['loss'])}")
        if "learning_rate" in logs:
            parts.append(f"lr {float(logs['learning_rate']):.2e}")
        if "grad_norm" in logs:
            parts.append(f"grad norm {format_metric(logs['grad_norm'])}")
        self._write(", ".join(parts))

    def epoch_line(self, args: TrainingArguments, state: TrainerState, metrics: Mapping[str, float]) -> str:
        """``epoch 3/12: accuracy 0.9512, ROC-AUC 0.9876, loss 0.1234; best ROC-AUC 0.9880 (epoch 2)``."""
        epochs = f"/{_epoch_text(args.num_train_epochs)}" if args.max_steps <= 0 else ""
        where = f"epoch {_epoch_text(state.epoch)}{epochs}"
        if str(getattr(args.eval_strategy, "value", args.eval_strategy)) == "steps":
            where = f"step {state.global_step:,} ({where})"
        key = args.metric_for_best_model
        keys = [name for name, _ in EPOCH_METRICS_SHOWN] + ([key] if key and key not in NAMES else [])
        shown = [
            f"{NAMES.get(name, name)} {format_metric(metrics.get(f'eval_{name}'))}"
            for name in keys
            if f"eval_{name}" in metrics
        ]
        return f"{where}: {', '.join(shown)}{self._best_text(args, state, metrics)}"

    def _best_text(self, args: TrainingArguments, state: TrainerState, metrics: Mapping[str, float]) -> str:
        key = args.metric_for_best_model
        value = metrics.get(f"eval_{key}") if key else None
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        greater = args.greater_is_better if args.greater_is_better is not None else key != "loss"
        threshold = float(getattr(args, "early_stopping_threshold", 0.0) or 0.0)
        improved = self.best is None or (
            (value > self.best[0] if greater else value < self.best[0])
            and abs(value - self.best[0]) > threshold
        )
        name = NAMES.get(key, key)
        if improved:
            self.best, self.stale = (value, state.epoch), 0
            text = f"; best {name} so far"
        else:
            self.stale += 1
            since = f" (epoch {_epoch_text(self.best[1])})" if self.best[1] is not None else ""
            text = f"; best {name} {format_metric(self.best[0])}{since}"
        patience = getattr(args, "early_stopping_patience", None)
        if patience and self.stale:
            text += f", no improvement for {self.stale}/{patience}"
        return text

    def _write(self, line: str) -> None:
        if self.training_bar is not None:
            self.training_bar.write(line)
        else:
            logger.info(line)


def stopped_early(state: TrainerState, args: TrainingArguments) -> bool:
    """Whether early stopping ended the run before its last epoch."""
    if not getattr(args, "early_stopping_patience", None) or args.max_steps > 0 or state.epoch is None:
        return False
    return state.epoch < args.num_train_epochs - 1e-6


def training_summary(
    output_dir: str | Path,
    results: Mapping[str, Any],
    state: TrainerState,
    args: TrainingArguments,
    seconds: float,
    *,
    pushed: str | None = None,
) -> str:
    """The run's closing lines: wall time, best checkpoint, test figures, where everything went."""
    out = Path(output_dir)
    epochs = _epoch_text(state.epoch)
    metric = args.metric_for_best_model
    head = f"Training finished in {format_duration(seconds)} ({epochs} epochs, {state.global_step:,} steps"
    if stopped_early(state, args):
        patience = getattr(args, "early_stopping_patience", None)
        head += f"; stopped early: no {metric} improvement for {patience} evaluations"
    lines = [head + ")."]
    if state.best_model_checkpoint:
        name = Path(state.best_model_checkpoint).name
        lines.append(
            f"  best checkpoint: {name}, validation {metric} {format_metric(state.best_metric)} "
            "(its weights are the model)"
        )
    test = [
        f"{label} {format_metric(results[key])}"
        for key, label in (("test_accuracy", "accuracy"), ("test_roc_auc", "ROC-AUC"), ("test_loss", "loss"))
        if isinstance(results.get(key), (int, float))
    ]
    if test:
        count = results.get("test_num_samples") or results.get("test_samples")
        lines.append(f"  test: {', '.join(test)}" + (f" ({int(count):,} images)" if count else ""))
    if isinstance(results.get("test_accuracy_at_threshold"), (int, float)):
        lines.append(
            f"  at the decision rule (threshold {format_metric(results.get('tuned_threshold', 0.5))} folded "
            f"in): test accuracy {format_metric(results['test_accuracy_at_threshold'])}"
        )
    lines.append(f'  model:   {out}  (pipeline("image-classification", model="{out}"))')
    lines.append(f"  metrics: {out / ALL_RESULTS}, {out / EPOCH_METRICS}")
    if (out / EVALUATION_DIR / REPORT_MARKDOWN).is_file():
        lines.append(f"  report:  {out / EVALUATION_DIR / REPORT_MARKDOWN} (plots, robustness, gallery)")
    if (out / MODEL_CARD).is_file():
        lines.append(f"  card:    {out / MODEL_CARD}")
    if pushed:
        lines.append(f"  pushed:  {pushed}")
    lines.append(
        f"  next:    hf-aidetect predict {out} IMAGES   |   hf-aidetect push {out} --repo-id USER/NAME"
    )
    return "\n".join(lines)
