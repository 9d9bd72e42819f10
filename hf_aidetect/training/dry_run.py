"""``hf-aidetect train --dry-run``: what a run would do, and nothing else.

The resolved configuration (every value that differs from its default, by argument group), the output
folder check a real run makes first, the data as it would be split (file listing only: no image is
decoded), the model's size (built on the ``meta`` device: no weights are read or allocated) and the step
plan. Nothing is trained, downloaded beyond a checkpoint's ``config.json``, or written.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import textwrap
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from hf_aidetect.errors import AIDetectError
from hf_aidetect.models.arguments import ModelArguments
from hf_aidetect.training.arguments import DetectionTrainingArguments, ScriptArguments
from hf_aidetect.training.config import argument_groups

if TYPE_CHECKING:
    from transformers import PreTrainedModel

# Set by __post_init__ from other fields, or per machine: shown in the plan when they matter, not as config.
_DERIVED = {"dataloader_persistent_workers", "dataloader_prefetch_factor", "dataloader_pin_memory"}


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    return value


def _defaults(group: type, instance: Any) -> dict[str, Any]:
    """Each field's default as the parsed instance would hold it (``TrainingArguments.__post_init__``
    normalises many: a default instance, built the same way, is the reference)."""
    if group is DetectionTrainingArguments:
        reference = group(output_dir=instance.output_dir)
        return {field.name: getattr(reference, field.name, None) for field in dataclasses.fields(group)}
    defaults = {}
    for field in dataclasses.fields(group):
        if field.default is not dataclasses.MISSING:
            defaults[field.name] = field.default
        elif field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            defaults[field.name] = field.default_factory()  # type: ignore[misc]
    return defaults


def _changed(instance: Any, group: type) -> list[tuple[str, Any]]:
    defaults = _defaults(group, instance)
    rows = []
    for field in dataclasses.fields(group):
        if not field.init or field.name in _DERIVED or "token" in field.name:
            continue
        value, default = getattr(instance, field.name, None), defaults.get(field.name)
        empty = value is None or (value in ({}, [], "") and default is None)
        if not empty and _plain(value) != _plain(default):
            rows.append((field.name, _plain(value)))
    return rows


def _config_lines(
    script: ScriptArguments, training: DetectionTrainingArguments, model: ModelArguments
) -> list[str]:
    instances = {"script": script, "training": training, "model": model}
    instances.update(
        {block: getattr(script, block) for block in ("preprocess", "augment", "pipeline", "report")}
    )
    lines = ["Resolved configuration (values that differ from the defaults):"]
    for name, group in argument_groups().items():
        rows = _changed(instances[name], group)
        if rows:
            text = f"  {name}: " + ", ".join(f"{key}={value}" for key, value in rows)
            lines.append(textwrap.fill(text, width=110, subsequent_indent="    ", break_on_hyphens=False))
    return lines


def _data_lines(script: ScriptArguments, training: DetectionTrainingArguments) -> tuple[list[str], int]:
    from hf_aidetect.data import load_detection_dataset
    from hf_aidetect.training.runner import cap_splits

    if not script.dataset:
        return ["Data: none given (--dataset PATH_OR_HUB_ID, or `dataset:` in the recipe)."], 0
    kwargs = {**script.dataset_kwargs(), "validate": False}
    dataset = cap_splits(load_detection_dataset(script.dataset, **kwargs), script, training.seed)
    lines = [f"Data: {script.dataset} (files listed, not decoded: the run's validation pass checks them)"]
    for split, rows in dataset.items():
        labels = rows.with_format(None)["label"]
        fake = int(sum(labels))
        lines.append(f"  {split:<10} {len(labels):>8,} images: {len(labels) - fake:,} real, {fake:,} fake")
    return lines, len(dataset["train"])


def _model_lines(model_args: ModelArguments) -> list[str]:
    """Name, parameters and input size, built on the meta device (no weights are loaded)."""
    import torch

    from hf_aidetect.data.preprocessing import InputSpec
    from hf_aidetect.models.factory import build_model, count_parameters

    name = model_args.model_name_or_path or f"{model_args.model_type} (built from its config)"
    try:
        if model_args.model_name_or_path:
            model = _checkpoint_on_meta(model_args)
            size = getattr(model.config, "image_size", "?")
        else:
            with torch.device("meta"):
                model, processor = build_model(model_args)
            size = InputSpec.from_image_processor(processor).size
    except (AIDetectError, OSError, ValueError) as error:
        return [f"Model: {name}; size unknown here ({str(error).splitlines()[0][:200]})"]
    total = count_parameters(model)
    trainable = (
        f", {count_parameters(model, trainable_only=True):,} trainable" if model_args.freeze_backbone else ""
    )
    return [f"Model: {name}: {type(model).__name__}, {total:,} parameters{trainable}, input {size} px"]


def _checkpoint_on_meta(model_args: ModelArguments) -> PreTrainedModel:
    import torch
    from transformers import AutoConfig, AutoModelForImageClassification

    from hf_aidetect.data.labels import ID2LABEL, LABEL2ID
    from hf_aidetect.models.factory import freeze_backbone

    config = AutoConfig.from_pretrained(
        model_args.model_name_or_path,
        revision=model_args.model_revision,
        cache_dir=model_args.cache_dir,
        trust_remote_code=model_args.trust_remote_code,
    )
    for key, value in {**(model_args.config_overrides or {}), "num_labels": 2}.items():
        setattr(config, key, value)
    config.id2label, config.label2id = dict(ID2LABEL), dict(LABEL2ID)
    with torch.device("meta"):
        model = AutoModelForImageClassification.from_config(config)
    if model_args.freeze_backbone:
        freeze_backbone(model)
    return model


def _plan_lines(training: DetectionTrainingArguments, train_images: int) -> list[str]:
    per_step = (
        training.per_device_train_batch_size * training.world_size * training.gradient_accumulation_steps
    )
    steps_per_epoch = math.ceil(train_images / max(1, per_step)) if train_images else 0
    total = (
        training.max_steps
        if training.max_steps > 0
        else math.ceil(training.num_train_epochs * steps_per_epoch)
    )
    lines = [
        f"Plan: {total:,} optimizer steps ({steps_per_epoch:,} per epoch: {train_images:,} images / "
        f"{per_step} per step = batch {training.per_device_train_batch_size} x {training.world_size} "
        f"process(es) x {training.gradient_accumulation_steps} accumulation) on {training.device}",
        f"  evaluate: {_plain(training.eval_strategy)}, save: {_plain(training.save_strategy)} "
        f"(keep {training.save_total_limit}); best checkpoint by validation {training.metric_for_best_model}"
        + ("" if training.load_best_model_at_end else " (not restored: --load_best_model_at_end false)"),
    ]
    if training.early_stopping_patience:
        lines.append(
            f"  early stopping: after {training.early_stopping_patience} evaluation(s) without an "
            f"improvement > {training.early_stopping_threshold}"
        )
    trackers = [item for item in _listed(training.report_to) if item != "none"]
    lines.append(
        f"  trackers: {', '.join(trackers) if trackers else 'none (--report_to tensorboard, wandb, trackio)'}"
    )
    lines.append(f"  output: {training.output_dir} (model, all_results.json, evaluation/, README.md)")
    return lines


def _listed(value: Any) -> Iterable[str]:
    return [value] if isinstance(value, str) else list(value or [])


def describe_run(
    script_args: ScriptArguments, training_args: DetectionTrainingArguments, model_args: ModelArguments
) -> str:
    """The dry run's text: configuration, output check, data counts, model size, step plan."""
    from hf_aidetect.training.outputs import check_output_dir
    from hf_aidetect.training.runner import resolve_resume

    resume = resolve_resume(training_args)
    overwrite = bool(training_args.overwrite_output_dir)
    check_output_dir(training_args.output_dir, overwrite=overwrite, resuming=resume is not None)
    lines = _config_lines(script_args, training_args, model_args)
    output = f"Output: {training_args.output_dir} can be written" + (
        f"; resumes from {resume}" if resume else ""
    )
    lines += ["", output, ""]
    data, train_images = _data_lines(script_args, training_args)
    lines += [*data, "", *_model_lines(model_args), "", *_plan_lines(training_args, train_images)]
    lines += ["", "Dry run: nothing was trained or written. Drop --dry-run to train."]
    return "\n".join(lines) + "\n"
