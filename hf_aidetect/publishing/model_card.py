"""Model cards: a ``TrainerCallback`` that collects card data, and the renderer of ``README.md``.

``write_model_card`` is what ``DetectionTrainer.create_model_card`` calls (so saving and pushing both write
our card); ``render_model_card`` re-renders a card from an output folder alone (used by ``push``).
The template is ``model_card_template.md`` (repo root; packaged as ``hf_aidetect/publishing/``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from transformers import TrainerCallback

from hf_aidetect.errors import AIDetectError
from hf_aidetect.files import atomic_write_text
from hf_aidetect.files.layout import MODEL_CARD
from hf_aidetect.publishing.card_deploy import deploy_fields
from hf_aidetect.publishing.card_inputs import (
    CardInputs,
    collect_card_inputs,
    framework_versions,
    is_hub_id,
    safe_hyperparameters,
    write_card_data,
)
from hf_aidetect.publishing.card_sections import (
    calibration_text,
    decision_rule,
    is_folded,
    operating_table,
    report_figures,
)
from hf_aidetect.publishing.card_tuning import tuning_text
from hf_aidetect.publishing.tables import card_table, fmt, metric, plain

logger = logging.getLogger(__name__)

TEMPLATE_NAME = "model_card_template.md"
DEFAULT_TAGS = ("image-classification", "ai-image-detection", "deepfake-detection", "hf_aidetect")
# Card metadata given to write_model_card that push must see again (saved in model_card_data.json).
REMEMBERED = (
    "license",
    "language",
    "tags",
    "base_model",
    "dataset",
    "dataset_name",
    "widget",
    "model_name",
    "space_id",
)
ARCHITECTURES = {
    "vit": "Vision Transformer (ViT) image classifier",
    "seed_cnn": "compact convolutional network (hf_aidetect seed CNN)",
    "backbone_detector": "pre-trained vision backbone with a linear real / fake head (hf_aidetect)",
}
# (metric key in our results, model-index metric type, display name) — fake is the positive class.
MODEL_INDEX_METRICS = (
    ("accuracy", "accuracy", "Accuracy"),
    ("f1_fake", "f1", "F1 (fake)"),
    ("precision_fake", "precision", "Precision (fake)"),
    ("recall_fake", "recall", "Recall (fake)"),
    ("roc_auc", "roc_auc", "ROC-AUC"),
)
TABLE_METRICS = (
    *MODEL_INDEX_METRICS,
    ("balanced_accuracy", "balanced_accuracy", "Balanced accuracy"),
    ("f1_macro", "f1", "Macro F1"),
    ("average_precision", "average_precision", "Average precision"),
    ("loss", "loss", "Loss"),
)
EPOCH_COLUMNS = (
    ("epoch", "Epoch"),
    ("step", "Step"),
    ("train_loss", "Training loss"),
    ("eval_loss", "Validation loss"),
    ("eval_accuracy", "Accuracy"),
    ("eval_f1_fake", "F1 (fake)"),
    ("eval_roc_auc", "ROC-AUC"),
)


def template_path() -> Path:
    """The card template: next to this module in a wheel, at the repository root in a checkout."""
    for candidate in (Path(__file__).with_name(TEMPLATE_NAME), Path(__file__).parents[2] / TEMPLATE_NAME):
        if candidate.is_file():
            return candidate
    raise AIDetectError(
        f"{TEMPLATE_NAME} not found next to {Path(__file__).parent} nor at the repository root: "
        "reinstall hf_aidetect (the wheel ships it as hf_aidetect/publishing/model_card_template.md)."
    )


def eval_results(inputs: CardInputs) -> list[EvalResult]:
    """``model-index`` entries of the model as published (its top label is its decision rule).

    The evaluation report when there is one (metrics at the model's operating point, TPR at low FPR, ECE),
    else the Trainer's test metrics; then the best checkpoint's validation metrics, unless a tuned threshold
    was folded in afterwards (they describe the weights before the fold).
    """
    dataset_type = inputs.dataset_id or "imagefolder"
    dataset_name = inputs.dataset_name or "AI-generated vs real faces"
    report = inputs.evaluation
    entries: list[tuple[str, dict[str, float], list]] = []
    if report.get("metrics"):
        entries.append((report.get("split") or "test", report["metrics"], report_figures(report)))
    elif inputs.test_metrics:
        entries.append(("test", inputs.test_metrics, []))
    if inputs.validation_metrics and not is_folded(inputs):
        entries.append(("validation", inputs.validation_metrics, []))
    results = []
    for split, metrics, figures in entries:
        rows = [(t, d, metrics[k], None) for k, t, d in MODEL_INDEX_METRICS if k in metrics] + figures
        for metric_type, display, value, args in rows:
            results.append(
                EvalResult(
                    task_type="image-classification",
                    task_name="AI-generated image detection",
                    dataset_type=dataset_type,
                    dataset_name=dataset_name,
                    dataset_split=split,
                    metric_type=metric_type,
                    metric_name=f"{split.capitalize()} {display}",
                    metric_value=metric(value),
                    metric_args=args,
                )
            )
    return results


def card_data(inputs: CardInputs) -> ModelCardData:
    """The YAML metadata block; unknown fields are omitted by ``ModelCardData``."""
    from hf_aidetect.publishing.widget import widget_entries

    results = eval_results(inputs)
    widget = widget_entries(inputs.widget, inputs.repo_id, inputs.revision) if inputs.widget else None
    return ModelCardData(
        library_name="transformers",
        pipeline_tag="image-classification",
        base_model=inputs.base_model,
        datasets=[inputs.dataset_id] if inputs.dataset_id else None,
        metrics=sorted({result.metric_type for result in results}) or None,
        license=inputs.license,
        language=inputs.language,
        tags=list(dict.fromkeys([*DEFAULT_TAGS, *inputs.tags])),
        model_name=(inputs.repo_id or inputs.model_name) if results else None,
        eval_results=results or None,
        widget=widget,
    )


def _metrics_table(metrics: dict[str, float]) -> str:
    rows = [[display, metrics[key]] for key, _, display in TABLE_METRICS if key in metrics]
    return card_table(["Metric", "Value"], rows)


def _epoch_table(inputs: CardInputs) -> str:
    rows = inputs.epoch_rows
    columns = [(key, title) for key, title in EPOCH_COLUMNS if any(key in row for row in rows)]
    if not rows or len(columns) < 2:
        return ""
    best_step = inputs.best.get("step")
    body = []
    for row in rows:
        cells = [row.get(key, "-") for key, _ in columns]
        is_best = best_step is not None and str(row.get("step")) == str(best_step)
        body.append([*cells, "best" if is_best else ""])
    return card_table([title for _, title in columns] + [""], body)


def _best_text(inputs: CardInputs) -> str:
    best = inputs.best
    if not best or best.get("step") is None:
        return ""
    where = f"step {best['step']}" + (
        f" (epoch {plain(best['epoch'])})" if best.get("epoch") is not None else ""
    )
    metric = inputs.hyperparameters.get("metric_for_best_model")
    score = f", {metric} = {fmt(best['metric'])}" if metric and best.get("metric") is not None else ""
    return f"The published weights are the best checkpoint, from {where}{score}."


def _confusion_table(inputs: CardInputs, matrix: list[list[int]] | None) -> str:
    if not matrix:
        return ""
    names = [inputs.id2label.get(i, str(i)) for i in range(2)]
    return card_table(["true \\ predicted", *names], [[names[i], *matrix[i]] for i in range(2)])


def _data_table(inputs: CardInputs) -> str:
    rows = []
    for split in ("train", "validation", "test"):
        counts = inputs.data_counts.get(split)
        if counts:
            real, fake = counts.get("real", 0), counts.get("fake", 0)
            rows.append([split, real, fake, real + fake])
    return card_table(["split", "real", "fake", "total"], rows)


def _report_fields(inputs: CardInputs) -> dict[str, Any]:
    report = inputs.evaluation
    if not report.get("metrics"):
        return {"report_table": ""}
    threshold = report.get("threshold")
    counts = f"{report.get('num_samples')} images" if report.get("num_samples") else ""
    if report.get("num_real") is not None:
        counts += f": {report['num_real']} real, {report['num_fake']} fake"
    return {
        "report_table": _metrics_table(report["metrics"]),
        "report_split": report.get("split"),
        "report_counts": counts,
        "report_threshold": plain(threshold) if threshold is not None else "0.5",
        "report_source": report.get("threshold_source"),
        "report_confusion": _confusion_table(inputs, report.get("confusion_matrix")),
        "per_source_table": _per_source_table(report.get("per_source") or []),
        "operating_table": operating_table(report.get("operating_points") or {}),
        "calibration_text": calibration_text(report.get("calibration") or {}),
    }


def _per_source_table(rows: list[dict[str, Any]]) -> str:
    """Accuracy / average precision per generator (sub-folder) from the evaluation report."""
    body = [
        [row.get("source", "-"), row.get("num_real", "-"), row.get("num_fake", "-"), row.get("accuracy", "-"),
         row.get("average_precision", "-"), row.get("tpr_at_1pct_fpr", "-"), row.get("ap_basis", "-")]
        for row in rows
    ]  # fmt: skip
    header = [
        "source",
        "real",
        "fake",
        "accuracy",
        "average precision",
        "TPR at 1% FPR",
        "AP / TPR computed on",
    ]
    return card_table(header, body)


def render_model_card(inputs: CardInputs) -> ModelCard:
    """Render the template with everything known; sections without data are left out."""
    architecture = ARCHITECTURES.get(inputs.model_type or "", f"`{inputs.model_type}` image classifier")
    labels = sorted((inputs.id2label or {0: "real", 1: "fake"}).items())
    return ModelCard.from_template(
        card_data(inputs),
        template_path=str(template_path()),
        model_name=inputs.model_name,
        architecture=architecture if inputs.model_type else "binary image classifier",
        base_model=inputs.base_model,
        dataset_id=inputs.dataset_id,
        dataset_name=inputs.dataset_name,
        labels=labels,
        decision_rule=decision_rule(inputs),
        legacy_threshold=plain(inputs.fake_threshold)
        if inputs.fake_threshold is not None and inputs.fake_threshold != 0.5
        else None,
        folded=is_folded(inputs),
        model_ref=inputs.repo_id or "USER/MODEL_NAME",
        remote_code=inputs.remote_code,
        data_table=_data_table(inputs),
        train_sources=", ".join(f"`{name}` ({n})" for name, n in inputs.train_sources.items()),
        imbalance_ratio=fmt(inputs.imbalance_ratio) if inputs.imbalance_ratio else None,
        image_size=inputs.image_size,
        native_crop=inputs.native_crop,
        hyperparameters=[(key, plain(value)) for key, value in inputs.hyperparameters.items()],
        epoch_table=_epoch_table(inputs),
        best_text=_best_text(inputs),
        test_table=_metrics_table(inputs.test_metrics),
        validation_table=_metrics_table(inputs.validation_metrics),
        test_threshold=plain(inputs.test_threshold) if inputs.test_threshold is not None else None,
        confusion_table=_confusion_table(inputs, inputs.confusion_matrix),
        **_report_fields(inputs),
        reports=inputs.reports,
        plots=inputs.plots,
        versions=sorted(inputs.framework_versions.items()),
        **deploy_fields(inputs),
        tuning_text=tuning_text(inputs.tuning, inputs.backbone, inputs.adapter),
        adapter=inputs.adapter,
    )


def _trainer_extra(trainer: Any) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]:
    """Card values from a live Trainer: its ModelCardCallback's data, its state and its model config."""
    extra: dict[str, Any] = {}
    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, ModelCardCallback):
            extra.update(callback.card_data)
    args = trainer.args
    extra.setdefault("hyperparameters", safe_hyperparameters(args.to_dict()))
    if getattr(args, "hub_model_id", None):
        extra.setdefault("repo_id", args.hub_model_id)
    state = trainer.state
    state_dict = {
        "log_history": state.log_history,
        "best_model_checkpoint": state.best_model_checkpoint,
        "best_global_step": getattr(state, "best_global_step", None),
        "best_metric": state.best_metric,
    }
    model = getattr(trainer, "model", None)
    config = model.config.to_dict() if model is not None and hasattr(model, "config") else None
    return extra, state_dict, config


def write_model_card(
    output_dir: str | Path,
    *,
    trainer: Any = None,
    card_data: dict[str, Any] | None = None,
    repo_id: str | None = None,
    model_name: str | None = None,
    license: str | None = None,
    language: str | list[str] | None = None,
    tags: str | list[str] | None = None,
    finetuned_from: str | None = None,
    dataset: str | list[str] | None = None,
    dataset_name: str | None = None,
    widget: list[dict[str, Any]] | None = None,
    data_summary: dict[str, Any] | None = None,
    **ignored: Any,
) -> Path:
    """Render ``OUTPUT_DIR/README.md`` and return its path.

    Accepts ``Trainer.create_model_card``'s keywords (``tasks``, ``dataset_tags``, ``dataset_args`` are
    ignored: the task is fixed). Explicit keywords beat ``card_data``, which beats what the Trainer's
    :class:`ModelCardCallback` collected, which beats ``model_card_data.json`` in the folder.
    """
    output_dir = Path(output_dir)
    extra: dict[str, Any] = {}
    state = config = None
    if trainer is not None:
        extra, state, config = _trainer_extra(trainer)
    extra.update(card_data or {})
    if isinstance(dataset, list):
        dataset = dataset[0] if dataset else None
    explicit = {
        "repo_id": repo_id,
        "model_name": model_name,
        "license": license,
        "language": language,
        "tags": [tags] if isinstance(tags, str) else tags,
        "base_model": finetuned_from,
        "dataset": dataset,
        "dataset_name": dataset_name,
        "widget": widget,
        "data_summary": data_summary,
    }
    extra.update({key: value for key, value in explicit.items() if value})
    if extra.get("model_name") and "/" in str(extra["model_name"]) and not extra.get("repo_id"):
        extra["repo_id"] = extra["model_name"]
    if extra.get("model_name"):
        extra["model_name"] = str(extra["model_name"]).split("/")[-1]
    card = render_model_card(collect_card_inputs(output_dir, state=state, config=config, extra=extra))
    path = output_dir / MODEL_CARD
    output_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, str(card))  # what ModelCard.save writes, replaced atomically
    remembered = {key: extra[key] for key in REMEMBERED if extra.get(key)}
    if remembered:  # so ``push`` re-renders the same card later
        write_card_data(output_dir, remembered)
    logger.info("Wrote the model card %s.", path)
    return path


class ModelCardCallback(TrainerCallback):
    """Collects what the card needs while training and saves it as ``model_card_data.json``.

    Saved at the end of training so ``push`` can re-render the same card from the output folder alone. The
    best checkpoint (not the last epoch) is recorded from ``state.best_model_checkpoint`` / ``best_metric``.
    """

    def __init__(
        self,
        *,
        dataset: str | None = None,
        dataset_name: str | None = None,
        base_model: str | None = None,
        license: str | None = None,
        tags: list[str] | None = None,
        data_summary: dict[str, Any] | None = None,
    ) -> None:
        given = {
            "dataset": dataset,
            "dataset_name": dataset_name,
            "base_model": base_model,
            "license": license,
            "tags": tags,
        }
        self.card_data: dict[str, Any] = {key: value for key, value in given.items() if value}
        if data_summary:
            self.card_data["data_summary"] = data_summary

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        self.card_data["hyperparameters"] = safe_hyperparameters(args.to_dict())
        self.card_data["framework_versions"] = framework_versions()
        name_or_path = getattr(getattr(model, "config", None), "name_or_path", None) or getattr(
            model, "name_or_path", None
        )
        if "base_model" not in self.card_data and is_hub_id(name_or_path):
            self.card_data["base_model"] = name_or_path

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not args.should_save:
            return
        saved = {key: value for key, value in self.card_data.items() if key != "best"}
        write_card_data(args.output_dir, saved, merge=False)  # a new run: nothing of an older one
