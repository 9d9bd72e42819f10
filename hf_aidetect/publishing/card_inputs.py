"""Everything a model card says, gathered from a training output folder (and, when given, a live Trainer).

The output folder alone is enough (``config.json``, ``all_results.json``, ``trainer_state.json``,
``epoch_metrics.csv``, ``data_summary.json``, ``model_card_data.json``, ``evaluation/``), so ``push`` can
re-render a card long after training. Metrics come from the **best** checkpoint's evaluation, never the last
log entry. Unknown values stay ``None`` / empty and the template leaves them out.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_aidetect.files.layout import (
    ALL_RESULTS,
    CARD_DATA,
    CONFIG,
    DATA_SUMMARY,
    EPOCH_METRICS,
    EVALUATION_DIR,
    EXPORT_REPORT,
    ONNX_DIR,
    PREPROCESSOR_CONFIG,
    REPORT_MARKDOWN,
    REPORT_METRICS,
    ROBUSTNESS_MARKDOWN,
    TRAINER_STATE,
    evaluation_file,
)

logger = logging.getLogger(__name__)

# Hyperparameters worth a line in the card, in display order (TrainingArguments attribute names).
HYPERPARAMETERS = (
    "learning_rate",
    "per_device_train_batch_size",
    "per_device_eval_batch_size",
    "gradient_accumulation_steps",
    "num_train_epochs",
    "max_steps",
    "optim",
    "lr_scheduler_type",
    "warmup_ratio",
    "warmup_steps",
    "weight_decay",
    "label_smoothing_factor",
    "max_grad_norm",
    "seed",
    "fp16",
    "bf16",
    "metric_for_best_model",
)
_ZERO_MEANS_OFF = ("warmup_ratio", "warmup_steps", "label_smoothing_factor", "max_steps")
_NOT_METRICS = ("runtime", "samples_per_second", "steps_per_second", "epoch", "step")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass
class CardInputs:
    """Plain data behind one rendered card (``None`` / empty = unknown, left out of the card)."""

    model_name: str
    repo_id: str | None = None
    revision: str | None = None  # the branch a push goes to (widget image URLs)
    model_type: str | None = None
    remote_code: bool = False
    base_model: str | None = None
    license: str | None = None
    language: str | list[str] | None = None
    tags: list[str] = field(default_factory=list)
    dataset_id: str | None = None
    dataset_name: str | None = None
    widget: list[dict[str, Any]] = field(default_factory=list)
    data_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    imbalance_ratio: float | None = None
    train_sources: dict[str, int] = field(default_factory=dict)
    id2label: dict[int, str] = field(default_factory=dict)
    fake_threshold: float | None = None
    operating_point: dict[str, Any] = field(default_factory=dict)
    image_size: int | None = None
    native_crop: bool = False  # the saved processor centre-crops at native resolution (never resamples)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    epoch_rows: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=dict)
    validation_metrics: dict[str, float] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    test_threshold: float | None = None
    confusion_matrix: list[list[int]] | None = None
    evaluation: dict[str, Any] = field(default_factory=dict)
    plots: list[tuple[str, str]] = field(default_factory=list)
    reports: list[tuple[str, str]] = field(default_factory=list)
    framework_versions: dict[str, str] = field(default_factory=dict)
    onnx_export: dict[str, Any] = field(default_factory=dict)
    space_id: str | None = None
    tuning: dict[str, Any] = field(default_factory=dict)
    adapter: dict[str, Any] = field(default_factory=dict)
    backbone: dict[str, Any] = field(default_factory=dict)


def read_json(path: Path) -> Any:
    """Parsed JSON, or None when the file is missing or unreadable (logged)."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        logger.warning("Ignoring unreadable %s (%s).", path, error)
        return None


def write_card_data(output_dir: str | Path, values: dict[str, Any], *, merge: bool = True) -> Path:
    """Write ``model_card_data.json`` (the card inputs ``push`` re-renders from), atomically: ``values``
    merged into what the file holds, or (``merge=False``, a new training run) replacing it."""
    from hf_aidetect.files import atomic_write_json

    path = Path(output_dir) / CARD_DATA
    saved = (read_json(path) or {}) if merge else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_json(path, {**saved, **values}, default=str)


def is_hub_id(value: str | None) -> bool:
    """True for something shaped like a Hub repo id that is not a local path."""
    return bool(value) and bool(_HUB_ID.match(str(value))) and not Path(str(value)).exists()


def safe_hyperparameters(values: dict[str, Any]) -> dict[str, Any]:
    """Known, informative hyperparameters only (no unset / off values); nothing token-like ever."""
    kept = {}
    for key in HYPERPARAMETERS:
        value = values.get(key)
        if value is None or value is False or value in ("", -1) or "token" in key:
            continue
        if key in _ZERO_MEANS_OFF and not value:
            continue
        kept[key] = value
    return kept


def framework_versions() -> dict[str, str]:
    """Installed versions of the libraries a reader needs to reproduce or load the model."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in ("hf_aidetect", "transformers", "torch", "datasets", "huggingface_hub", "accelerate"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    return versions


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def strip_metrics(metrics: dict[str, Any], prefix: str) -> dict[str, float]:
    """``{prefix}_accuracy: 0.9`` → ``accuracy: 0.9`` (numbers only, no runtime/throughput)."""
    out = {}
    for key, value in metrics.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        number = _number(value)
        if number is not None and name not in _NOT_METRICS and not name.endswith(_NOT_METRICS):
            out[name] = number
    return out


def best_log_entry(state: dict[str, Any]) -> dict[str, Any]:
    """The evaluation log entry of the best checkpoint (falls back to the best-scoring, then last, one)."""
    evals = [entry for entry in state.get("log_history") or [] if any(k.startswith("eval_") for k in entry)]
    if not evals:
        return {}
    step = state.get("best_global_step")
    checkpoint = state.get("best_model_checkpoint")
    if step is None and checkpoint:
        match = re.search(r"checkpoint-(\d+)", str(checkpoint))
        step = int(match.group(1)) if match else None
    for entry in evals:
        if step is not None and entry.get("step") == step:
            return entry
    best_metric = _number(state.get("best_metric"))
    if best_metric is not None:
        for entry in evals:
            if any(_number(v) == best_metric for k, v in entry.items() if k.startswith("eval_")):
                return entry
    return evals[-1]


def read_epoch_rows(output_dir: Path, state: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of ``epoch_metrics.csv``; derived from the log history when the file is absent."""
    path = output_dir / EPOCH_METRICS
    if path.is_file():
        with path.open(encoding="utf-8", newline="") as handle:
            return [{k: v for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(handle)]
    rows = []
    for entry in state.get("log_history") or []:
        if any(key.startswith("eval_") for key in entry):
            rows.append({k: v for k, v in entry.items() if k in ("epoch", "step") or k.startswith("eval_")})
    return rows


def _data_summary(summary: Any) -> tuple[dict[str, dict[str, int]], float | None, str | None]:
    if not isinstance(summary, dict):
        return {}, None, None
    counts = summary.get("counts", summary)
    counts = {
        split: {str(label): int(n) for label, n in per_class.items() if _number(n) is not None}
        for split, per_class in counts.items()
        if isinstance(per_class, dict) and split in ("train", "validation", "test")
    }
    root = summary.get("root") or summary.get("source")
    return counts, _number(summary.get("imbalance_ratio")), root


def _matrix(value: Any) -> list[list[int]] | None:
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(r, list) and len(r) == 2 for r in value)
    ):
        return [[int(cell) for cell in row] for row in value]
    return None


def _confusion_matrix(results: dict[str, Any]) -> list[list[int]] | None:
    """The test confusion matrix of ``all_results.json`` (nested list or ``cm_true_*_pred_*`` cells)."""
    matrix = _matrix(results.get("test_confusion_matrix"))
    if matrix is not None:
        return matrix
    for names in (
        [f"cm_true_{true}_pred_{pred}" for true in ("real", "fake") for pred in ("real", "fake")],
        ["tn", "fp", "fn", "tp"],
    ):
        cells = [_number(results.get(f"test_{name}")) for name in names]
        if all(cell is not None for cell in cells):
            tn, fp, fn, tp = (int(cell) for cell in cells)  # type: ignore[arg-type]
            return [[tn, fp], [fn, tp]]
    return None


def _evaluation_report(output_dir: Path) -> dict[str, Any]:
    """The INFERENCE layer's ``evaluation/metrics.json``: metrics at its (possibly tuned) threshold."""
    report = read_json(output_dir / EVALUATION_DIR / REPORT_METRICS)
    if not isinstance(report, dict) or not isinstance(report.get("metrics"), dict):
        return {}
    threshold = report.get("threshold")
    info = threshold if isinstance(threshold, dict) else {"value": threshold}
    metrics = {k: v for k, v in ((k, _number(v)) for k, v in report["metrics"].items()) if v is not None}
    calibration = report.get("calibration") if isinstance(report.get("calibration"), dict) else {}
    points = report.get("operating_points") if isinstance(report.get("operating_points"), dict) else {}
    return {
        "split": report.get("split") or "test",
        "dataset": report.get("dataset"),
        "num_samples": report.get("num_samples"),
        "num_real": report.get("num_real"),
        "num_fake": report.get("num_fake"),
        "threshold": _number(info.get("value")),
        "threshold_source": info.get("source"),
        "folded": info.get("folded") if isinstance(info.get("folded"), dict) else None,
        "metrics": metrics,
        "confusion_matrix": _matrix(report["metrics"].get("confusion_matrix")),
        "per_source": [row for row in report.get("per_source") or [] if isinstance(row, dict)],
        "operating_points": points,
        "calibration": {k: calibration.get(k) for k in ("ece", "brier", "num_bins", "num_samples")},
    }


def _plots(output_dir: Path) -> list[tuple[str, str]]:
    folder = output_dir / EVALUATION_DIR
    if not folder.is_dir():
        return []
    return [
        (path.stem.replace("_", " ").capitalize(), evaluation_file(path.name))
        for path in sorted(folder.glob("*.png"))
    ]


def _reports(output_dir: Path) -> list[tuple[str, str]]:
    names = {
        REPORT_MARKDOWN: "Evaluation report",
        ROBUSTNESS_MARKDOWN: "Robustness to JPEG / resizing / blur",
    }
    return [
        (title, evaluation_file(name))
        for name, title in names.items()
        if (output_dir / EVALUATION_DIR / name).is_file()
    ]


def collect_card_inputs(
    output_dir: str | Path,
    *,
    state: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> CardInputs:
    """Read the output folder; ``state`` / ``config`` (live Trainer values) and ``extra`` take precedence."""
    output_dir = Path(output_dir)
    saved = read_json(output_dir / CARD_DATA) or {}
    extra = {**saved, **{k: v for k, v in (extra or {}).items() if v not in (None, "", [], {})}}
    config = config or read_json(output_dir / CONFIG) or {}
    state = state or read_json(output_dir / TRAINER_STATE) or {}
    results = read_json(output_dir / ALL_RESULTS) or {}
    processor = read_json(output_dir / PREPROCESSOR_CONFIG) or {}
    summary = extra.get("data_summary") or read_json(output_dir / DATA_SUMMARY)
    counts, imbalance, data_root = _data_summary(summary)

    best_entry = best_log_entry(state)
    validation = strip_metrics(best_entry, "eval_") or strip_metrics(results, "validation_")
    dataset = extra.get("dataset") or data_root
    base_model = extra.get("base_model") or extra.get("finetuned_from") or config.get("backbone_checkpoint")
    id2label = {int(k): str(v) for k, v in (config.get("id2label") or {}).items()}
    hyperparameters = dict(extra.get("hyperparameters") or {})
    return CardInputs(
        model_name=str(extra.get("model_name") or output_dir.resolve().name),
        repo_id=extra.get("repo_id"),
        revision=extra.get("revision"),
        model_type=config.get("model_type"),
        remote_code=bool(config.get("auto_map")),
        base_model=base_model if is_hub_id(base_model) else None,
        license=extra.get("license"),
        language=extra.get("language"),
        tags=list(extra.get("tags") or []),
        dataset_id=str(dataset) if _is_hub_dataset(dataset, summary) else None,
        dataset_name=extra.get("dataset_name") or (Path(str(dataset)).name if dataset else None),
        widget=[
            dict(item) for item in extra.get("widget") or [] if isinstance(item, dict) and item.get("src")
        ],
        data_counts=counts,
        imbalance_ratio=imbalance,
        train_sources=_train_sources(summary),
        id2label=id2label,
        fake_threshold=_number(config.get("fake_threshold")),
        operating_point=dict(config.get("operating_point") or {}),
        image_size=_image_size(config, processor),
        native_crop=crops_natively(processor),
        hyperparameters=safe_hyperparameters(hyperparameters),
        epoch_rows=read_epoch_rows(output_dir, state),
        best=_best_summary(state, best_entry),
        validation_metrics=validation,
        test_metrics=strip_metrics(results, "test_"),
        test_threshold=_number(results.get("test_threshold")),
        confusion_matrix=_confusion_matrix(results),
        evaluation=_evaluation_report(output_dir),
        plots=_plots(output_dir),
        reports=_reports(output_dir),
        framework_versions=dict(extra.get("framework_versions") or framework_versions()),
        onnx_export=_onnx_export(output_dir),
        space_id=extra.get("space_id"),
        tuning=dict(config.get("tuning") or {}),
        adapter=dict(config.get("adapter") or {}),
        backbone=_backbone(config),
    )


def _onnx_export(output_dir: Path) -> dict[str, Any]:
    """``onnx/export_report.json`` of ``hf-aidetect export``, with the export's processor settings."""
    report = read_json(output_dir / ONNX_DIR / EXPORT_REPORT)
    if not isinstance(report, dict):
        return {}
    return {**report, "processor": read_json(output_dir / ONNX_DIR / PREPROCESSOR_CONFIG) or {}}


def _backbone(config: dict[str, Any]) -> dict[str, Any]:
    from hf_aidetect.publishing.card_tuning import backbone_summary

    return backbone_summary(config)


def _train_sources(summary: Any) -> dict[str, int]:
    """Images per generator / sub-folder in the training split (``data_summary.json`` ``sources``)."""
    sources = summary.get("sources") if isinstance(summary, dict) else None
    train = sources.get("train") if isinstance(sources, dict) else None
    if not isinstance(train, dict):
        return {}
    return {str(name) or "(none)": int(n) for name, n in train.items() if _number(n) is not None}


def _is_hub_dataset(dataset: Any, summary: Any) -> bool:
    """The data layer records the source layout ("hub", "folder", ...); guess from the name otherwise."""
    layout = summary.get("layout") if isinstance(summary, dict) else None
    return bool(dataset) and (layout == "hub" if layout else is_hub_id(str(dataset)))


def _best_summary(state: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """Where the best checkpoint is; empty when training did not track one (no metric_for_best_model)."""
    tracked = any(
        state.get(key) is not None for key in ("best_global_step", "best_model_checkpoint", "best_metric")
    )
    if not entry or not tracked:
        return {}
    checkpoint = state.get("best_model_checkpoint")
    return {
        "checkpoint": Path(checkpoint).name if checkpoint else None,
        "step": entry.get("step"),
        "epoch": entry.get("epoch"),
        "metric": _number(state.get("best_metric")),
    }


def crops_natively(processor: dict[str, Any]) -> bool:
    """True for the saved processor of the native-resolution geometry (no resize, centre crop)."""
    return not processor.get("do_resize", True) and bool(processor.get("do_center_crop"))


def _image_size(config: dict[str, Any], processor: dict[str, Any]) -> int | None:
    size = config.get("image_size")
    if size is None:
        size = processor.get("size")
        if isinstance(size, dict):
            size = size.get("height") or size.get("shortest_edge")
    number = _number(size)
    return int(number) if number else None
