"""``DetectionTrainer``: ``Trainer`` plus what detection needs and nothing else.

* resumable augmentation: a :class:`~hf_aidetect.data.loader.PreprocessedSplit` train set is sampled by a
  :class:`~hf_aidetect.data.loader.KeyedSampler`, so every augmentation draw depends only on (seed,
  epoch, sample index) and a resumed run replays them exactly;
* the batched stage on the training device (``device_stage``) when the loader ships uint8 pixels;
* a streamed train split (:class:`~hf_aidetect.data.streaming.StreamingSplit`): its stateful loader and
  its position in every checkpoint (:mod:`hf_aidetect.training.stream_state`);
* optional class-weighted cross-entropy (``class_weights``), exact under gradient accumulation and DDP;
* checkpoint weights restored through ``from_pretrained`` with a strict ``load_state_dict`` (the stock
  ``Trainer`` loads the raw safetensors with ``strict=False``, which silently skips every ViT encoder weight
  in transformers 5 because the saved keys use the legacy names); LoRA checkpoints (adapter + head) are
  restored key by key just as strictly;
* checkpoints that appear only when complete (:mod:`hf_aidetect.training.checkpoints`), a final model and
  ``trainer_state.json`` whose files are each replaced atomically;
* ``create_model_card`` rendered by :mod:`hf_aidetect.publishing.model_card`;
* compact progress lines (:class:`~hf_aidetect.training.progress.TrainingProgress`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel, Trainer
from transformers.trainer_callback import ExportableState, PrinterCallback, ProgressCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, SaveStrategy
from transformers.utils import SAFE_WEIGHTS_NAME

from hf_aidetect.data.labels import ID2LABEL
from hf_aidetect.data.loader import KeyedSampler, PreprocessedSplit, collate_batches
from hf_aidetect.data.preprocessing import BatchAugment
from hf_aidetect.data.streaming import StreamingSplit
from hf_aidetect.errors import ConfigError, OutputError
from hf_aidetect.files import atomic_write_text, describe_os_error, replace_directory
from hf_aidetect.files.layout import TRAINER_STATE
from hf_aidetect.models.lora import ADAPTER_WEIGHTS, is_peft_model, load_exact_adapter
from hf_aidetect.training.checkpoints import rotate_checkpoints, staging_dir
from hf_aidetect.training.progress import TrainingProgress, format_metric
from hf_aidetect.training.stream_state import StreamCheckpoint

logger = logging.getLogger(__name__)


def compute_class_weights(counts: Mapping[str, int]) -> list[float]:
    """Inverse-frequency weights ``[real, fake]`` normalized so the average weight over samples is 1.

    This is scikit-learn's ``"balanced"`` rule, ``n_samples / (n_classes * n_class)``.
    """
    names = [ID2LABEL[index] for index in sorted(ID2LABEL)]
    missing = [name for name in names if int(counts.get(name, 0)) <= 0]
    if missing:
        raise ConfigError(
            f"--class_weights auto needs both classes in the train split, but it has no {missing} images."
        )
    total = sum(int(counts[name]) for name in names)
    return [total / (len(names) * int(counts[name])) for name in names]


def resolve_class_weights(
    setting: str | Sequence[float], train_counts: Mapping[str, int]
) -> list[float] | None:
    """``"none"`` → None, ``"auto"`` → :func:`compute_class_weights`, explicit ``[real, fake]`` as given."""
    if isinstance(setting, str):
        if setting == "none":
            return None
        if setting == "auto":
            return compute_class_weights(train_counts)
        raise ConfigError(f"--class_weights must be 'none', 'auto' or two numbers, got {setting!r}.")
    return [float(weight) for weight in setting]


def load_exact_weights(model: nn.Module, checkpoint_dir: str | os.PathLike) -> None:
    """Copy a saved checkpoint into ``model`` in place: every tensor, or an error.

    ``from_pretrained`` applies the key renames of the installed transformers version, so the strict
    ``load_state_dict`` sees matching names; in-place copying keeps optimizer / DDP wrappers valid.
    """
    target = model.module if hasattr(model, "module") else model
    if is_peft_model(target):  # LoRA checkpoints hold the adapter + head; the frozen base is rebuilt
        load_exact_adapter(target, checkpoint_dir)
        return
    if not isinstance(target, PreTrainedModel):
        raise TypeError(f"Expected a PreTrainedModel, got {type(target).__name__}.")
    reloaded = type(target).from_pretrained(os.fspath(checkpoint_dir))
    with torch.no_grad():
        target.load_state_dict(reloaded.state_dict(), strict=True)
    logger.info("Loaded the exact weights of %s.", checkpoint_dir)


def _has_exact_weights(checkpoint_dir: str, model: nn.Module) -> bool:
    """A checkpoint :func:`load_exact_weights` can restore: plain safetensors, or a LoRA adapter."""
    if os.path.isfile(os.path.join(checkpoint_dir, SAFE_WEIGHTS_NAME)):
        return True
    return is_peft_model(model) and os.path.isfile(os.path.join(checkpoint_dir, ADAPTER_WEIGHTS))


class DetectionTrainer(Trainer):
    """``Trainer`` with keyed augmentation, a device stage, class weights, exact reloads, our model card."""

    def __init__(
        self,
        *args: Any,
        class_weights: Sequence[float] | None = None,
        card_context: Mapping[str, Any] | None = None,
        device_stage: BatchAugment | None = None,
        log_sample_ids: bool = False,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("data_collator") is None and len(args) < 3:  # (model, args, data_collator, ...)
            kwargs["data_collator"] = collate_batches  # PreprocessedSplit batches go through as they are
        super().__init__(*args, **kwargs)
        self.class_weights = (
            None if class_weights is None else torch.tensor(class_weights, dtype=torch.float32)
        )
        self.card_context: dict[str, Any] = dict(card_context or {})
        self.device_stage = device_stage
        # Compact epoch lines instead of the metrics dict (a notebook keeps its own progress table).
        stock = [
            cb for cb in self.callback_handler.callbacks if type(cb) in (ProgressCallback, PrinterCallback)
        ]
        for callback in stock:
            self.remove_callback(callback)
        if stock:
            self.add_callback(TrainingProgress())
        self.stream: StreamCheckpoint | None = None
        if isinstance(self.train_dataset, StreamingSplit):
            restart = self.args.ignore_data_skip
            self.stream = StreamCheckpoint(
                self, self.train_dataset, restart=restart, log_sample_ids=log_sample_ids
            )

    def get_train_dataloader(self) -> Any:
        if self.stream is not None:
            return self.stream.dataloader()
        return super().get_train_dataloader()

    def _inner_training_loop(self, *args: Any, **kwargs: Any) -> Any:
        if self.stream is None:
            return super()._inner_training_loop(*args, **kwargs)
        self.stream.resume_from = kwargs.get("resume_from_checkpoint")  # the loader is built inside
        try:
            return super()._inner_training_loop(*args, **kwargs)
        finally:
            self.stream.close()

    def _save_rng_state(self, output_dir: str) -> None:
        """Per-process resumption state: the RNGs and, for a stream, its position."""
        super()._save_rng_state(output_dir)
        if self.stream is not None:
            self.stream.save(output_dir)

    def _get_train_sampler(self, train_dataset: Any = None) -> torch.utils.data.Sampler | None:
        dataset = self.train_dataset if train_dataset is None else train_dataset
        if isinstance(dataset, PreprocessedSplit):
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return KeyedSampler(len(dataset), seed=seed)
        return super()._get_train_sampler(train_dataset)

    def _prepare_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Move the batch to the device; uint8 pixels get the batched stage there (flip, blur, normalise)."""
        draws = inputs.pop("augment_draws", None) if isinstance(inputs, Mapping) else None
        sample_ids = inputs.pop("sample_ids", None) if isinstance(inputs, Mapping) else None
        if sample_ids is not None and self.stream is not None and self.model.training:
            self.stream.record(self.state.global_step + 1, sample_ids)
        inputs = super()._prepare_inputs(inputs)
        pixels = inputs.get("pixel_values") if isinstance(inputs, Mapping) else None
        if isinstance(pixels, torch.Tensor) and pixels.dtype == torch.uint8:
            if self.device_stage is None:
                raise ConfigError("The loader shipped uint8 pixels but the trainer has no device_stage.")
            inputs["pixel_values"] = self.device_stage(pixels, draws)
        return inputs

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        """Weighted cross-entropy when ``class_weights`` is set, else the model's own loss.

        The weighted loss is ``sum(w[y_i] * ce_i) / n``: with ``num_items_in_batch`` (the model takes
        loss kwargs) ``n`` spans the whole accumulated / distributed batch like the model's own loss;
        without it ``n`` is the micro-batch size and ``Trainer`` divides by the accumulation steps.
        """
        if self.class_weights is None or "labels" not in inputs:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        inputs = dict(inputs)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        logits = outputs["logits"] if isinstance(outputs, Mapping) else outputs[0]
        per_sample = nn.functional.cross_entropy(logits.float(), labels.to(logits.device), reduction="none")
        weights = self.class_weights.to(logits.device)[labels.to(logits.device)]
        weighted = (weights * per_sample).sum()
        if self.model_accepts_loss_kwargs and num_items_in_batch is not None:
            loss = weighted / num_items_in_batch
            if self.args.average_tokens_across_devices:
                loss = loss * self.accelerator.num_processes
        else:
            loss = weighted / labels.numel()
        return (loss, outputs) if return_outputs else loss

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: nn.Module | None = None) -> None:
        """Resume with exactly the checkpoint's weights (see the module docstring for why)."""
        if _has_exact_weights(resume_from_checkpoint, model if model is not None else self.model) and not (
            self.is_fsdp_enabled or self.is_deepspeed_enabled
        ):
            load_exact_weights(model if model is not None else self.model, resume_from_checkpoint)
            return
        super()._load_from_checkpoint(resume_from_checkpoint, model)

    def _load_best_model(self) -> None:
        """``load_best_model_at_end``: the best checkpoint's exact weights (the one best-model reload).

        Sharded (FSDP / DeepSpeed) and adapter checkpoints go through the Trainer's own loader, which is
        strict for them."""
        best = self.state.best_model_checkpoint
        self.accelerator.wait_for_everyone()  # the main process has finished writing checkpoints
        logger.info(
            "Restoring the best checkpoint %s (%s = %s).",
            best,
            self.args.metric_for_best_model,
            format_metric(self.state.best_metric),
        )
        sharded = self.is_fsdp_enabled or self.is_deepspeed_enabled
        if best and _has_exact_weights(best, self.model) and not sharded:
            load_exact_weights(self.model, best)
            return
        super()._load_best_model()

    # -- saving: complete or absent ------------------------------------------------------------------------

    def _save_checkpoint(self, model: nn.Module, trial: Any) -> None:
        """``Trainer._save_checkpoint``, written into ``.checkpoint-N.partial`` and renamed to
        ``checkpoint-N`` only when every file of every rank is there; a failed save (a full disk) leaves
        the earlier checkpoints as they were and raises :class:`OutputError`."""
        run_dir = self._get_output_dir(trial=trial)
        final = os.path.join(run_dir, f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}")
        staging = str(staging_dir(final))
        if self.args.should_save and os.path.isdir(staging):
            shutil.rmtree(staging)  # left by an interrupted save of the same step
        self.accelerator.wait_for_everyone()
        if self.hp_search_backend is None and trial is None:
            self.store_flos()
        try:
            self._write_checkpoint(staging, run_dir)
            self.accelerator.wait_for_everyone()  # every rank has written its RNG state
            if self.args.should_save:
                replace_directory(staging, final)
        except (OSError, RuntimeError) as error:
            if self.args.should_save:
                shutil.rmtree(staging, ignore_errors=True)
            _raise_write_error(final, error)
        if self.args.push_to_hub:
            self._push_from_checkpoint(final)
        if self.args.should_save:
            rotate_checkpoints(run_dir, self.args.save_total_limit, self.state.best_model_checkpoint)

    def _write_checkpoint(self, staging: str, run_dir: str) -> None:
        """The stock checkpoint files, in the stock order, into ``staging`` (names recorded are final)."""
        self.save_model(staging, _internal_call=True)
        best_step = self.state.best_global_step
        saves = (SaveStrategy.STEPS, SaveStrategy.EPOCH, SaveStrategy.BEST)
        if self.args.save_strategy in saves and best_step:
            best = os.path.join(run_dir, f"{PREFIX_CHECKPOINT_DIR}-{best_step}")
            if best_step == self.state.global_step or os.path.exists(best):
                self.state.best_model_checkpoint = best
        if not self.args.save_only_model:
            self._save_optimizer_and_scheduler(staging)
            self._save_scaler(staging)
            self._save_rng_state(staging)
        if self.args.should_save:
            for callback in [*self.callback_handler.callbacks, self.control]:
                if isinstance(callback, ExportableState):
                    name, value = callback.__class__.__name__, callback.state()
                    if isinstance(self.state.stateful_callbacks[name], list):
                        self.state.stateful_callbacks[name].append(value)
                    else:
                        self.state.stateful_callbacks[name] = value
            self.state.save_to_json(os.path.join(staging, TRAINER_STATE))

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        """The final model: saved into a hidden staging folder, then each file moved into ``output_dir``
        with ``os.replace`` (a kill leaves every file old or new, never cut off). Checkpoints are staged
        by :meth:`_save_checkpoint` already."""
        if _internal_call:
            super().save_model(output_dir, _internal_call=True)
            return
        target = Path(output_dir or self.args.output_dir)
        staging = target / ".model.partial"
        if self.args.should_save and staging.exists():
            shutil.rmtree(staging)
        self.accelerator.wait_for_everyone()
        try:
            super().save_model(str(staging), _internal_call=True)
            self.accelerator.wait_for_everyone()
            if self.args.should_save:
                _move_files_into(staging, target)
        except (OSError, RuntimeError) as error:
            if self.args.should_save:
                shutil.rmtree(staging, ignore_errors=True)
            _raise_write_error(str(target), error)
        if self.args.push_to_hub:
            self.push_to_hub(commit_message="Model save", revision=self.args.hub_revision)

    def save_state(self) -> None:
        """``trainer_state.json`` in the output folder, replaced atomically (main process only)."""
        if self.is_world_process_zero():
            text = json.dumps(dataclasses.asdict(self.state), indent=2, sort_keys=True) + "\n"
            atomic_write_text(os.path.join(self.args.output_dir, TRAINER_STATE), text)

    def create_model_card(self, **kwargs: Any) -> None:
        """Write ``README.md`` with :mod:`hf_aidetect.publishing.model_card`."""
        from hf_aidetect.publishing.model_card import write_model_card

        if not self.is_world_process_zero():
            return
        write_model_card(self.args.output_dir, trainer=self, **self.card_context, **kwargs)


def _move_files_into(staging: Path, target: Path) -> None:
    """Move every file of ``staging`` to the same place under ``target`` (each with one ``os.replace``),
    configs last so a reader never finds a new config beside old weights; then drop ``staging``."""
    files = sorted(
        (path for path in staging.rglob("*") if path.is_file()), key=lambda path: path.suffix == ".json"
    )
    for path in files:
        destination = target / path.relative_to(staging)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, destination)
    shutil.rmtree(staging, ignore_errors=True)


def _raise_write_error(final: str, error: OSError | RuntimeError) -> None:
    """Re-raise a write failure while saving (``OSError``, or torch's ``RuntimeError`` from its file
    writer) as one line naming the folder; any other ``RuntimeError`` is re-raised unchanged."""
    if isinstance(error, OutputError):
        raise error
    if isinstance(error, OSError):
        reason = describe_os_error(error)
    elif "write" in str(error).lower() or "PytorchStreamWriter" in str(error):
        reason = str(error).strip().splitlines()[0]
    else:
        raise error
    raise OutputError(
        f"cannot save {final}: {reason}; the earlier checkpoints are intact (free some space, then resume "
        "with --resume_from_checkpoint last)"
    ) from error
