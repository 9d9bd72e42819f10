"""``train(script_args, training_args, model_args)``: the one training entry for every model.

data (``load_detection_dataset``) → model (``build_model``) → lazy transforms from the image processor →
``DetectionTrainer.train`` → the best checkpoint's exact weights → validation + test evaluation → the output
folder contract (model + processor, ``all_results.json``, ``trainer_state.json``, ``epoch_metrics.csv``,
``data_summary.json``, ``evaluation/`` report + tuned ``fake_threshold``, ``README.md``) → optional push.
Runs unchanged under ``accelerate launch`` / ``torchrun``: every rank trains and evaluates, only the main
process writes (and runs the report).
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import transformers
from datasets import DatasetDict
from transformers import EarlyStoppingCallback, PreTrainedModel, TrainerCallback, set_seed
from transformers.image_processing_utils import BaseImageProcessor

from hf_aidetect.data.audit import audit_before_training
from hf_aidetect.data.loader import PreprocessedSplit
from hf_aidetect.data.report import LoadReport
from hf_aidetect.errors import BadImageError, ConfigError, one_line
from hf_aidetect.files.layout import SPEED_SWITCHES
from hf_aidetect.metrics import fake_probabilities
from hf_aidetect.models.arguments import ModelArguments
from hf_aidetect.models.lora import AdapterSnapshot, merge_lora, save_adapter_form
from hf_aidetect.publishing.model_card import ModelCardCallback
from hf_aidetect.training.acceleration import native_bf16, to_channels_last, training_threads
from hf_aidetect.training.arguments import DetectionTrainingArguments, ScriptArguments
from hf_aidetect.training.checkpoints import (
    checkpoint_problems,
    find_resumable_checkpoint,
)
from hf_aidetect.training.outputs import prepare_output_dir, write_results, write_run_outputs
from hf_aidetect.training.progress import training_summary
from hf_aidetect.training.reporting import write_evaluation_report
from hf_aidetect.training.speed import SpeedChoice, choose_speed_switches, load_choice, save_choice
from hf_aidetect.training.speed import describe as describe_speed
from hf_aidetect.training.splits import build_splits
from hf_aidetect.training.trainer import DetectionTrainer, resolve_class_weights

logger = logging.getLogger(__name__)


def setup_logging(training_args: DetectionTrainingArguments) -> None:
    """Per-process verbosity (``--log_level`` / ``--log_level_replica``); replicas log warnings by default.

    ``passive`` (the main process default) leaves the caller's logging configuration alone.
    """
    setting = training_args.log_level if training_args.should_log else training_args.log_level_replica
    if setting == "passive":
        return
    level = training_args.get_process_log_level()
    logging.getLogger("hf_aidetect").setLevel(level)
    transformers.utils.logging.set_verbosity(level)
    datasets.utils.logging.set_verbosity(level)


def resolve_resume(training_args: DetectionTrainingArguments) -> str | None:
    """``--resume_from_checkpoint PATH`` (checked complete); ``true`` / ``last``: the newest *complete*
    checkpoint in output_dir, skipping (and logging) newer ones that a kill or a full disk left unfinished."""
    value = training_args.resume_from_checkpoint
    if value is None or str(value).lower() in ("", "false", "none"):
        return None
    needs = {"needs_optimizer": not training_args.save_only_model, "world_size": training_args.world_size}
    if str(value).lower() in ("true", "last"):
        found, skipped = find_resumable_checkpoint(training_args.output_dir, **needs)
        for item in skipped:
            logger.warning("Not resuming from %s: incomplete.", item.describe())
        if found is None:
            also = f" ({len(skipped)} incomplete one(s) skipped, see above)" if skipped else ""
            raise ConfigError(
                f"--resume_from_checkpoint {value}: no complete checkpoint-* folder in "
                f"{training_args.output_dir}{also}; pass a checkpoint path or drop the flag."
            )
        logger.info("Resuming from %s.", found)
        return str(found)
    if not Path(value).is_dir():
        raise ConfigError(f"--resume_from_checkpoint {value} is not a checkpoint folder.")
    problems = checkpoint_problems(value, **needs)
    if problems:
        raise ConfigError(
            f"--resume_from_checkpoint {value} is incomplete ({'; '.join(problems)}); pass a complete "
            "checkpoint, or 'last' for the newest complete one."
        )
    return str(value)


def cap_splits(dataset: DatasetDict, script_args: ScriptArguments, seed: int) -> DatasetDict:
    """``--max_train_samples`` / ``--max_eval_samples``: a seeded random subset of each split."""
    caps = {"train": script_args.max_train_samples}
    caps.update(dict.fromkeys(("validation", "test"), script_args.max_eval_samples))
    for split, cap in caps.items():
        if cap is not None and len(dataset[split]) > cap:
            dataset[split] = dataset[split].shuffle(seed=seed).select(range(cap))
    return dataset


def evaluate_splits(
    trainer: DetectionTrainer, splits: dict[str, PreprocessedSplit], names: list[str]
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``trainer.predict`` on each named split: the ``<name>_*`` metrics (``train_eval`` reports as
    ``train``) and each split's P(fake) per row (see :func:`fake_scores`; absent where unusable).

    ``predict`` builds a fresh data loader per split (``evaluate`` caches one per key when workers are
    persistent) and returns logits and metrics together, so nothing is kept on the trainer.
    """
    results: dict[str, Any] = {}
    scores: dict[str, np.ndarray] = {}
    for name in names:
        prefix = "train" if name == "train_eval" else name
        output = trainer.predict(splits[name], metric_key_prefix=prefix)
        results.update(output.metrics)
        split_scores = fake_scores(output.predictions, len(splits[name]), trainer.args)
        if split_scores is not None:
            scores[name] = split_scores
    return results, scores


def fake_scores(
    logits: np.ndarray | tuple | None, expected: int, args: DetectionTrainingArguments
) -> np.ndarray | None:
    """P(fake) per row from a ``predict`` output's logits; None if unusable.

    The evaluation report takes these instead of running the model over validation and test again. Not
    under fp16 / bf16 (the report scores in the saved model's precision) or when the logits are missing.
    """
    if args.bf16 or args.fp16 or logits is None:
        return None
    try:
        scores = fake_probabilities(logits)  # the softmax compute_metrics scores with
    except ValueError:  # not [N, 2] real / fake logits
        return None
    return scores if len(scores) == expected else None


def _trainer_args(training_args: DetectionTrainingArguments) -> DetectionTrainingArguments:
    """A copy for the Trainer: the push happens after the report and the card (:func:`_push`). The best
    checkpoint is reloaded, exactly, by :meth:`DetectionTrainer._load_best_model`."""
    args = copy.deepcopy(training_args)
    args.push_to_hub = False
    return args


def resolve_device_preprocessing(
    script_args: ScriptArguments, training_args: DetectionTrainingArguments
) -> bool:
    """``--device_preprocessing`` as given, else on for a GPU (the loader ships 4x fewer bytes, the GPU
    flips and normalises for free) and off on CPU (the same work in the same process)."""
    pipeline = script_args.pipeline
    if pipeline.device_preprocessing is None:
        pipeline.device_preprocessing = training_args.device.type == "cuda"
    return pipeline.device_preprocessing


@dataclass
class TrainingSetup:
    """What :func:`build_trainer` assembled: the trainer, its splits, the data as loaded, the load report."""

    trainer: DetectionTrainer
    splits: dict[str, PreprocessedSplit]
    dataset: DatasetDict
    load_report: LoadReport
    speed: SpeedChoice


def _load_data(
    script_args: ScriptArguments, training_args: DetectionTrainingArguments
) -> tuple[DatasetDict, LoadReport]:
    from hf_aidetect.data import load_detection_dataset

    if not script_args.dataset:
        raise ConfigError(
            "No dataset given: pass --dataset PATH_OR_HUB_ID or set `dataset:` in the recipe YAML."
        )
    with training_args.main_process_first(desc="loading the dataset"):
        dataset, report = load_detection_dataset(
            script_args.dataset, return_report=True, **script_args.dataset_kwargs()
        )
    return cap_splits(dataset, script_args, training_args.seed), report


def _build_model(
    script_args: ScriptArguments, training_args: DetectionTrainingArguments, model_args: ModelArguments
) -> tuple[PreTrainedModel, BaseImageProcessor, SpeedChoice]:
    """The model, its processor made to match the recipe's geometry, and the measured speed switches."""
    from hf_aidetect.data.preprocessing import InputSpec, processor_for
    from hf_aidetect.models import build_model

    set_seed(training_args.seed)  # model init happens before Trainer seeds anything
    model, processor = build_model(model_args)
    processor = processor_for(processor, script_args.preprocess)
    size, batch = InputSpec.from_image_processor(processor).size, training_args.per_device_train_batch_size
    record = Path(training_args.output_dir) / SPEED_SWITCHES
    speed = load_choice(record) if training_args.resume_from_checkpoint else None
    if speed is None:
        with training_args.main_process_first(local=True, desc="timing the speed switches"):
            speed = choose_speed_switches(
                model,
                training_args.device,
                size,
                batch,
                channels_last=training_args.channels_last,
                bf16_candidate=training_args.bf16_candidate() and native_bf16(training_args.device.type),
            )
        if training_args.should_save:
            save_choice(speed, record)
    logger.info(describe_speed(speed, size, batch))
    if speed.bf16:
        training_args.use_bf16()
    if speed.channels_last:
        model = to_channels_last(model)
    return model, processor, speed


def build_trainer(
    script_args: ScriptArguments, training_args: DetectionTrainingArguments, model_args: ModelArguments
) -> TrainingSetup:
    """Load data + model and assemble the ``DetectionTrainer`` (see :class:`TrainingSetup`)."""
    from hf_aidetect.metrics import build_compute_metrics

    device_preprocessing = resolve_device_preprocessing(script_args, training_args)
    stream = None
    if script_args.streaming:  # train streamed, validation / test map-style (training/streaming.py)
        from hf_aidetect.training.streaming import check_streaming_args, load_streamed_data

        check_streaming_args(script_args, training_args)
        stream = load_streamed_data(script_args, training_args)
        dataset, report = stream.evaluation, stream.report
    else:
        dataset, report = _load_data(script_args, training_args)
    model, processor, speed = _build_model(script_args, training_args, model_args)
    if stream is None and training_args.process_index == 0:
        # Shortcuts (format, size ...), train/test leaks and padded windows: warnings only.
        audit_before_training(dataset, input_size=script_args.preprocess.native_window(processor))
    splits, transforms = build_splits(
        dataset,
        processor,
        script_args,
        training_args,
        device_preprocessing=device_preprocessing,
        channels_last=speed.channels_last,
        train_stream=stream.train if stream is not None else None,
    )
    class_weights = resolve_class_weights(training_args.class_weights, report.summary.counts.get("train", {}))
    if class_weights is not None:
        logger.info("Class-weighted loss: real %.4f, fake %.4f.", *class_weights)
    card = script_args.report
    card_context = {"dataset": script_args.dataset, "data_summary": report.to_dict()}
    card_context.update({key: value for key, value in (("license", card.license),
                         ("dataset_name", card.dataset_name)) if value})  # fmt: skip
    callbacks: list[TrainerCallback] = [ModelCardCallback(**card_context)]
    if training_args.early_stopping_patience:
        callbacks.append(
            EarlyStoppingCallback(
                training_args.early_stopping_patience, training_args.early_stopping_threshold
            )
        )
    trainer = DetectionTrainer(
        model=model,
        args=_trainer_args(training_args),
        train_dataset=splits["train"],
        eval_dataset=splits["validation"],
        processing_class=processor,
        compute_metrics=build_compute_metrics(),
        callbacks=callbacks,
        class_weights=class_weights,
        card_context=card_context,
        device_stage=transforms.device_stage,
        log_sample_ids=script_args.log_sample_ids,
    )
    return TrainingSetup(trainer, splits, dataset, report, speed)


def train(
    script_args: ScriptArguments, training_args: DetectionTrainingArguments, model_args: ModelArguments
) -> dict[str, Any]:
    """Fine-tune, keep the best checkpoint exactly, evaluate validation + test, write the output folder.

    Returns the flat metrics written to ``all_results.json`` (``train_*``, ``validation_*``, ``test_*``).
    On CPU, torch's threads leave the data-loader workers their cores (``--torch_threads`` overrides).
    The run ends with a summary (wall time, best checkpoint, test figures, where everything went).
    """
    started = time.perf_counter()
    setup_logging(training_args)
    resume = resolve_resume(training_args)
    prepare_output_dir(training_args, resume)  # before any data or model loads
    if script_args.pipeline.decode_cache and training_args.device.type == "cpu":
        # The loader only copies cached rows and cuts windows: not worth a core taken from the model.
        training_args.load_in_main_process("decode cache on the CPU")
    workers = training_args.dataloader_num_workers or 0
    with training_threads(training_args.torch_threads, workers, training_args.device):
        return _train(script_args, training_args, model_args, resume, started)


def _train(
    script_args: ScriptArguments,
    training_args: DetectionTrainingArguments,
    model_args: ModelArguments,
    resume: str | None,
    started: float,
) -> dict[str, Any]:
    setup = build_trainer(script_args, training_args, model_args)
    trainer, splits, report = setup.trainer, setup.splits, setup.load_report
    try:
        train_result = trainer.train(resume_from_checkpoint=resume)
    except BadImageError as error:  # a file changed after the validation pass (or was never validated)
        reason = one_line(error).split(". Load the data with")[0].rstrip(".")  # our advice replaces that one
        raise BadImageError(
            f"{reason}. The checkpoints written so far are intact: fix or remove the file, then re-run with "
            "--resume_from_checkpoint last (validation skips unreadable files)."
        ) from error
    best = trainer.state.best_model_checkpoint  # already reloaded (load_best_model_at_end)
    adapter = _merge_adapters(trainer)
    results: dict[str, Any] = {
        f"train_{k}" if not k.startswith("train_") else k: v for k, v in train_result.metrics.items()
    }
    names = ["train_eval"] if script_args.report.evaluate_train else []
    metrics, scores = evaluate_splits(trainer, splits, [*names, "validation", "test"])
    results.update(metrics)
    args = trainer.args
    results["train_world_size"] = args.world_size
    results["train_global_batch_size"] = (
        args.per_device_train_batch_size * args.world_size * args.gradient_accumulation_steps
    )
    results["best_model_checkpoint"] = best
    results["best_metric"] = trainer.state.best_metric
    trainer.save_model()  # rank 0 writes config, weights, processor (and remote code for the CNN)
    if adapter is not None and model_args.lora_save == "adapter" and trainer.is_world_process_zero():
        save_adapter_form(trainer.args.output_dir, trainer.model, adapter)
    # Past the last collective: the report is single-process inference, so only the main process runs it.
    output_dir = Path(trainer.args.output_dir)
    if trainer.is_world_process_zero():
        trainer.save_state()
        write_run_outputs(output_dir, results, trainer.state.log_history, report.to_dict())
        if script_args.report.evaluation_report:
            evaluation = write_evaluation_report(trainer, setup.dataset, script_args.report, scores=scores)
            results.update(evaluation)
            write_results(output_dir, results)
        if script_args.report.card_widget:
            from hf_aidetect.publishing.widget import write_widget_images

            trainer.card_context["widget"] = write_widget_images(
                output_dir, setup.dataset["test"], script_args.report.card_widget, seed=training_args.seed
            )
        if script_args.report.write_model_card:
            trainer.create_model_card()  # after the report: it embeds the plots and the threshold
    pushed = _push(trainer, training_args) if training_args.push_to_hub else None
    if trainer.is_world_process_zero():
        seconds = time.perf_counter() - started
        summary = training_summary(output_dir, results, trainer.state, trainer.args, seconds, pushed=pushed)
        logger.info("%s", summary)
    return results


def _merge_adapters(trainer: DetectionTrainer) -> AdapterSnapshot | None:
    """LoRA: the adapters merged into the weights, which are then evaluated and saved like any model."""
    trainer.model, adapter = merge_lora(trainer.model)
    if adapter is not None:
        trainer.model_wrapped = trainer.model
    return adapter


def _push(trainer: DetectionTrainer, training_args: DetectionTrainingArguments) -> str | None:
    """Upload the output folder with the publishing layer (main process only); the repo's URL."""
    if not trainer.is_world_process_zero():
        return None
    from hf_aidetect.publishing.push import push_output_dir

    result = push_output_dir(
        training_args.output_dir,
        repo_id=training_args.hub_model_id,
        private=training_args.hub_private_repo,
        token=training_args.hub_token,
        revision=training_args.hub_revision,
    )
    return getattr(result, "repo_url", None)
