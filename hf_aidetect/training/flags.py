"""Which recipe flags exist, which mean nothing for image classification, and what the aliases are.

* :data:`ALIASES`: the names every other command uses for the same thing (``--batch-size``,
  ``--num-workers``, ``--device``) mapped onto ``TrainingArguments`` (``--device`` is translated).
* :data:`REJECTED`: ``TrainingArguments`` flags that have no effect in this Trainer path (``--do_train``,
  LLM-only switches) or would break it; giving one is a one-line error with the reason.
* :data:`HIDDEN`: flags that still work but are left out of ``--list-flags`` (deprecated aliases, rare
  internals); ``--list-flags --all`` shows them.
* :func:`describe_flags`: ``hf-aidetect train --list-flags``, grouped by concern.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import shutil
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

from hf_aidetect.errors import ConfigError

ALIASES = {
    "batch_size": "per_device_train_batch_size",
    "train_batch_size": "per_device_train_batch_size",
    "eval_batch_size": "per_device_eval_batch_size",
    "num_workers": "dataloader_num_workers",
}
_RUNS = "hf-aidetect train always trains, evaluates the validation split every epoch and tests at the end"
REJECTED = {
    "do_train": _RUNS,
    "do_eval": _RUNS,
    "do_predict": _RUNS,
    "neftune_noise_alpha": "NEFTune adds noise to token embeddings; image classifiers have none",
    "use_liger_kernel": "Liger kernels replace LLM layers (RMSNorm, RoPE, SwiGLU); image models have none",
    "liger_kernel_config": "Liger kernels replace LLM layers; image classifiers have none",
    "include_num_input_tokens_seen": "it counts text tokens; image batches have none",
    "use_cache": "the key/value cache is for text generation",
    "length_column_name": "length grouping is for text; the train sampler is hf_aidetect's keyed shuffle",
    "train_sampling_strategy": "the train sampler is hf_aidetect's keyed shuffle (it makes resumes exact)",
    "remove_unused_columns": "the image column must reach the transform: hf_aidetect keeps every column",
    "label_names": "labels are fixed (real = 0, fake = 1) in the `labels` input",
    "prediction_loss_only": "the metrics (and so the best checkpoint) need the predictions",
    "eval_do_concat_batches": "the metrics need every score of the split at once (ROC-AUC)",
    "batch_eval_metrics": "the metrics need every score of the split at once (ROC-AUC)",
    "hub_strategy": "hf_aidetect pushes once, at the end: the best model with its card and report",
    "hub_always_push": "hf_aidetect pushes once, at the end: the best model with its card and report",
}
HIDDEN = {
    "gradient_checkpointing",  # deprecated aliases of activation_checkpointing(_kwargs)
    "gradient_checkpointing_kwargs",
    "optim_target_modules",
    "average_tokens_across_devices",
    "torch_empty_cache_steps",
    "eval_use_gather_object",
    "include_for_metrics",
    "restore_callback_states_from_checkpoint",
    "enable_jit_checkpoint",
    "debug",
    "skip_memory_metrics",
    "local_rank",
    "ddp_bucket_cap_mb",
    "ddp_broadcast_buffers",
    "ddp_static_graph",
    "dataloader_in_order",
    "trackio_bucket_id",
    "trackio_static_space_id",
}
# DetectionTrainingArguments' flags by concern, in display order; anything else lands under "other".
CONCERNS: dict[str, tuple[str, ...]] = {
    "output and resumption": (
        "output_dir", "overwrite_output_dir", "resume_from_checkpoint", "ignore_data_skip",
    ),
    "optimisation": (
        "num_train_epochs", "max_steps", "per_device_train_batch_size", "gradient_accumulation_steps",
        "auto_find_batch_size", "learning_rate", "lr_scheduler_type", "lr_scheduler_kwargs", "warmup_steps",
        "optim", "optim_args", "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm",
        "label_smoothing_factor", "class_weights", "seed", "data_seed", "full_determinism",
    ),
    "evaluation, best checkpoint and early stopping": (
        "eval_strategy", "eval_steps", "eval_delay", "eval_on_start", "per_device_eval_batch_size",
        "eval_accumulation_steps", "metric_for_best_model", "greater_is_better", "load_best_model_at_end",
        "early_stopping_patience", "early_stopping_threshold", "save_strategy", "save_steps",
        "save_total_limit", "save_only_model",
    ),
    "precision and speed": (
        "bf16", "fp16", "auto_bf16", "bf16_full_eval", "fp16_full_eval", "tf32", "channels_last",
        "torch_compile", "torch_compile_backend", "torch_compile_mode", "activation_checkpointing",
        "activation_checkpointing_kwargs", "torch_threads", "use_cpu",
    ),
    "data loader": (
        "dataloader_num_workers", "dataloader_pin_memory", "dataloader_persistent_workers",
        "dataloader_prefetch_factor", "dataloader_drop_last", "dataloader_multiprocessing_context",
    ),
    "logging and trackers": (
        "report_to", "run_name", "project", "trackio_space_id", "logging_strategy", "logging_steps",
        "logging_first_step", "logging_nan_inf_filter", "log_level", "log_level_replica", "log_on_each_node",
        "disable_tqdm",
    ),
    "Hub": ("push_to_hub", "hub_model_id", "hub_private_repo", "hub_revision", "hub_token"),
    "distributed": (
        "ddp_backend", "ddp_timeout", "ddp_find_unused_parameters", "fsdp", "fsdp_config", "deepspeed",
        "accelerator_config", "parallelism_config", "save_on_each_node",
    ),
}  # fmt: skip
GROUP_TITLES = {
    "script": "data: where the images come from and how they are split (ScriptArguments)",
    "preprocess": "preprocess: the pixels the model sees (PreprocessConfig, recipe block `preprocess:`)",
    "augment": "augment: training-time augmentation (AugmentConfig, recipe block `augment:`)",
    "pipeline": "pipeline: decode cache and device stage (PipelineConfig, recipe block `pipeline:`)",
    "report": "report: evaluation report and model card (ReportArguments, recipe block `report:`)",
    "training": "training: transformers' TrainingArguments + detection's (DetectionTrainingArguments)",
    "model": "model: what to fine-tune or build (ModelArguments)",
}


COMMAND_LINE = "the command line"


def translate(key: str, value: Any, where: str) -> dict[str, Any]:
    """``{key: value}`` in declared names: an alias renamed, ``device`` turned into ``use_cpu``, a
    rejected flag (or ``threshold``, which training tunes) a :class:`ConfigError` naming ``where``."""
    label = f"--{key}" if where == COMMAND_LINE else f"'{key}' in {where}"
    if key in REJECTED:
        raise ConfigError(f"{label} has no effect here: {REJECTED[key]}; drop it.")
    if key == "threshold":
        raise ConfigError(
            f"{label}: training tunes the threshold on the validation split "
            "(--evaluation_target_fpr F for a false-positive budget); to fix one afterwards run "
            "`hf-aidetect evaluate OUTPUT_DIR DATA --threshold T --save-threshold`."
        )
    if key == "device":
        return _device(str(value), label)
    return {ALIASES.get(key, key): value}


def _device(value: str, label: str) -> dict[str, Any]:
    device = value.strip().lower()
    if device == "cpu":
        return {"use_cpu": True}
    if device in ("auto", "cuda", "gpu", "mps", "xpu"):
        return {}  # the Trainer takes the accelerator there is (accelerate launch: one per process)
    if device.startswith("cuda:"):
        raise ConfigError(
            f"{label} {value}: the Trainer uses every visible GPU; pick one with "
            f"CUDA_VISIBLE_DEVICES={device.split(':', 1)[1]} (or accelerate launch --gpu_ids)."
        )
    raise ConfigError(f"{label} {value}: use auto, cpu, cuda or mps.")


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return field.default_factory()  # type: ignore[misc]
    return None


def _shown(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value) or "-"
    return str(value)


_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)\.\s+(?=[A-Z(`'])")


def _first_sentence(text: str) -> str:
    text = " ".join(text.replace("%%", "%").split())
    end = _SENTENCE_END.search(text)
    return text if end is None else text[: end.start() + 1]


def _lines(
    fields: Iterable[dataclasses.Field], values: Mapping[str, Any], width: int, ours: set[str]
) -> list[str]:
    out = []
    for field in fields:
        flag = f"--{field.name} {_shown(values.get(field.name, _default(field)))}"
        mark = "*" if field.name in ours else " "
        help_text = _first_sentence(str(field.metadata.get("help", "")))
        choices = field.metadata.get("choices")
        if choices:
            help_text += f" [{' | '.join(map(str, choices))}]"
        head = f"  {mark}{flag:<44} "
        wrapped = textwrap.wrap(help_text, max(30, width - len(head))) or [""]
        out.append(head + wrapped[0])
        out += [" " * len(head) + line for line in wrapped[1:]]
    return out


def describe_flags(values: Mapping[str, Any] | None = None, *, show_all: bool = False) -> str:
    """Every recipe flag, grouped by concern, with its default (``values``: a recipe's, flattened)."""
    from transformers import TrainingArguments

    from hf_aidetect.training.config import argument_groups

    values = dict(values or {})
    width = max(80, min(140, shutil.get_terminal_size((110, 24)).columns))
    stock = {field.name for field in dataclasses.fields(TrainingArguments)}
    lines = [
        "Recipe flags (YAML keys), by concern; the value shown is the default"
        + (" (the recipe's where it sets one)" if values else "")
        + ". Either spelling works: --learning_rate / --learning-rate.",
        "* = added by hf_aidetect. Aliases: --batch-size (per_device_train_batch_size), --eval-batch-size,"
        " --num-workers (dataloader_num_workers), --device cpu (use_cpu).",
    ]
    for name, group in argument_groups().items():
        fields = [field for field in dataclasses.fields(group) if field.init]
        if not show_all:
            fields = [field for field in fields if field.name not in HIDDEN and field.name not in REJECTED]
        ours = {field.name for field in fields} - stock if name == "training" else set()
        lines += ["", GROUP_TITLES.get(name, name)]
        if name != "training":
            lines += _lines(fields, values, width, ours)
            continue
        by_name = {field.name: field for field in fields}
        placed: set[str] = set()
        for concern, names in CONCERNS.items():
            chosen = [by_name[key] for key in names if key in by_name]
            placed.update(field.name for field in chosen)
            if chosen:
                lines += [f"  {concern}", *_lines(chosen, values, width, ours)]
        rest = [field for field in fields if field.name not in placed]
        if rest:
            lines += ["  other", *_lines(rest, values, width, ours)]
    if not show_all:
        lines += [
            "",
            f"Hidden: {len(HIDDEN)} rarely used flags (they still work) and {len(REJECTED)} that mean "
            "nothing for image classification (rejected, e.g. --do_train): --list-flags --all shows them.",
        ]
    elif REJECTED:
        lines += ["", "Rejected (no effect here): " + ", ".join(f"--{name}" for name in sorted(REJECTED))]
    return "\n".join(lines) + "\n"
