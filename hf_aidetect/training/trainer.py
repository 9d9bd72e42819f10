"""``DetectionTrainer``: ``Trainer`` plus what detection needs and nothing else.

* resumable augmentation: a :class:`~hf_aidetect.data.loader.PreprocessedSplit` train set is sampled by a
  :class:`~hf_aidetect.data.loader.KeyedSampler`, so every augmentation draw depends only on (seed,
  epoch, sample index) and a resumed run replays them exactly;
* the batched stage on the training device (``device_stage``) when the loader ships uint8 pixels;
* optional class-weighted cross-entropy (``class_weights``), exact under gradient accumulation and DDP;
* checkpoint weights restored through ``from_pretrained`` with a strict ``load_state_dict`` (the stock
  ``Trainer`` loads the raw safetensors with ``strict=False``, which silently skips every ViT encoder weight
  in transformers 5 because the saved keys use the legacy names);
* ``create_model_card`` rendered by :mod:`hf_aidetect.publishing.model_card`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel, Trainer
from transformers.utils import SAFE_WEIGHTS_NAME

from hf_aidetect.data.labels import ID2LABEL
from hf_aidetect.data.loader import KeyedSampler, PreprocessedSplit, collate_batches
from hf_aidetect.data.preprocessing import BatchAugment
from hf_aidetect.errors import ConfigError

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
    if not isinstance(target, PreTrainedModel):
        raise TypeError(f"Expected a PreTrainedModel, got {type(target).__name__}.")
    reloaded = type(target).from_pretrained(os.fspath(checkpoint_dir))
    with torch.no_grad():
        target.load_state_dict(reloaded.state_dict(), strict=True)
    logger.info("Loaded the exact weights of %s.", checkpoint_dir)


class DetectionTrainer(Trainer):
    """``Trainer`` with keyed augmentation, a device stage, class weights, exact reloads, our model card."""

    def __init__(
        self,
        *args: Any,
        class_weights: Sequence[float] | None = None,
        card_context: Mapping[str, Any] | None = None,
        device_stage: BatchAugment | None = None,
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

    def _get_train_sampler(self, train_dataset: Any = None) -> torch.utils.data.Sampler | None:
        dataset = self.train_dataset if train_dataset is None else train_dataset
        if isinstance(dataset, PreprocessedSplit):
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return KeyedSampler(len(dataset), seed=seed)
        return super()._get_train_sampler(train_dataset)

    def _prepare_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Move the batch to the device; uint8 pixels get the batched stage there (flip, blur, normalise)."""
        draws = inputs.pop("augment_draws", None) if isinstance(inputs, Mapping) else None
        inputs = super()._prepare_inputs(inputs)
        pixels = inputs.get("pixel_values") if isinstance(inputs, Mapping) else None
        if isinstance(pixels, torch.Tensor) and pixels.dtype == torch.uint8:
            if self.device_stage is None:
                raise ConfigError("The loader shipped uint8 pixels but the trainer has no device_stage.")
            inputs["pixel_values"] = self.device_stage(pixels, draws)
        return inputs

    def evaluation_loop(self, *args: Any, **kwargs: Any) -> Any:
        """The Trainer's loop; its output (logits, labels) is kept in ``last_eval_output`` for reuse."""
        output = super().evaluation_loop(*args, **kwargs)
        self.last_eval_output = output
        return output

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
        plain = os.path.isfile(os.path.join(resume_from_checkpoint, SAFE_WEIGHTS_NAME))
        if plain and not (self.is_fsdp_enabled or self.is_deepspeed_enabled):
            load_exact_weights(model if model is not None else self.model, resume_from_checkpoint)
            return
        super()._load_from_checkpoint(resume_from_checkpoint, model)

    def _load_best_model(self) -> None:
        """Same exact reload for ``load_best_model_at_end`` if a caller turns it on."""
        best = self.state.best_model_checkpoint
        if best and os.path.isfile(os.path.join(best, SAFE_WEIGHTS_NAME)) and not self.is_fsdp_enabled:
            load_exact_weights(self.model, best)
            return
        super()._load_best_model()

    def create_model_card(self, **kwargs: Any) -> None:
        """Write ``README.md`` with :mod:`hf_aidetect.publishing.model_card` (stock card if unavailable)."""
        if not self.is_world_process_zero():
            return
        try:
            from hf_aidetect.publishing.model_card import write_model_card
        except ImportError:
            logger.info("hf_aidetect.publishing.model_card unavailable; writing the stock Trainer card.")
            super().create_model_card(**kwargs)
            return
        write_model_card(self.args.output_dir, trainer=self, **self.card_context, **kwargs)
