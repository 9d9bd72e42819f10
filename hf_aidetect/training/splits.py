"""The training splits with their transforms: on the fly (PIL decode per batch) or from the pre-resize cache.

Default: the data layer's lazy PIL transforms (``with_transform``). ``--preresize_cache true``: every split
is decoded and resized once into ``--preresize_cache_dir`` (default :func:`default_cache_dir`) by
:func:`hf_aidetect.data.cache.apply_preresize_cache`, then augmented with torch ops only.
``--device_preprocessing true``: the loader ships uint8 pixels and a
:class:`~hf_aidetect.training.acceleration.DevicePreprocess` finishes them on the training device (with
the cache: crop / flip / blur / normalise; without: PIL crops on the fly and the device normalises).
Besides ``train`` / ``validation`` / ``test``, the returned splits hold ``train_eval`` (train without
augmentation) and, with the cache, ``uncached_validation`` / ``uncached_test`` (the original
image files, which the evaluation report reads with its own preprocessing).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from datasets import DatasetDict

from hf_aidetect.training.acceleration import DevicePreprocess, build_uint8_transform
from hf_aidetect.training.arguments import DetectionTrainingArguments, ScriptArguments

logger = logging.getLogger(__name__)

CACHE_SUBDIR = "hf_aidetect_preresize"
UNCACHED_PREFIX = "uncached_"


def default_cache_dir() -> Path:
    """``HF_DATASETS_CACHE/hf_aidetect_preresize`` (under HF_HOME, ``~/.cache/huggingface`` by default)."""
    import datasets.config

    return Path(datasets.config.HF_DATASETS_CACHE) / CACHE_SUBDIR


def build_splits(
    dataset: DatasetDict,
    processor: Any,
    script_args: ScriptArguments,
    training_args: DetectionTrainingArguments,
) -> tuple[DatasetDict, DevicePreprocess | None]:
    """Splits with transforms for ``script_args``; plus the device preprocessor when it is on (else None)."""
    from hf_aidetect.data.transforms import PreprocessConfig

    preprocess = PreprocessConfig.from_image_processor(processor)
    augment = script_args.augment_config()
    if not script_args.preresize_cache:
        if not script_args.device_preprocessing:
            return _on_the_fly(dataset, preprocess, augment), None
        # PIL still decodes, crops, flips, blurs and re-encodes per image; the device only normalises.
        logger.info("Device preprocessing: uint8 batches, normalised on the training device.")
        return _on_the_fly(dataset, preprocess, augment, output="uint8"), DevicePreprocess(preprocess)
    splits = _cached(dataset, preprocess, augment, script_args, training_args)
    if not script_args.device_preprocessing:
        return splits, None
    for name in [name for name in splits if not name.startswith(UNCACHED_PREFIX)]:
        # The train split's JPEG re-compression (PIL) happens in the loader; the rest on the device.
        train = name == "train" and augment is not None
        uint8 = build_uint8_transform(augment if train else None, seed=training_args.seed if train else None)
        splits[name] = splits[name].with_transform(uint8)
    logger.info("Device preprocessing: uint8 batches, crop / flip / blur / normalise on the training device.")
    return splits, DevicePreprocess(preprocess, augment, seed=training_args.seed)


def _on_the_fly(dataset: DatasetDict, preprocess: Any, augment: Any, output: str = "float") -> DatasetDict:
    from hf_aidetect.data.transforms import (
        build_eval_transform,
        build_train_transform,
        with_detection_transform,
    )

    train_transform = (
        build_train_transform(preprocess, augment, output=output)
        if augment is not None
        else build_eval_transform(preprocess, output=output)
    )
    eval_transform = build_eval_transform(preprocess, output=output)
    transforms = {split: train_transform if split == "train" else eval_transform for split in dataset}
    splits = with_detection_transform(dataset, transforms)
    splits["train_eval"] = with_detection_transform(dataset["train"], eval_transform)
    return splits


def _cached(
    dataset: DatasetDict,
    preprocess: Any,
    augment: Any,
    script_args: ScriptArguments,
    training_args: DetectionTrainingArguments,
) -> DatasetDict:
    from hf_aidetect.data.cache import apply_preresize_cache, build_cached_eval_transform
    from hf_aidetect.data.validation import default_num_workers

    cache_dir = (
        Path(script_args.preresize_cache_dir) if script_args.preresize_cache_dir else default_cache_dir()
    )
    cores = default_num_workers()
    logger.info("Pre-resize cache in %s (built once, reused by later runs on the same data).", cache_dir)
    with training_args.main_process_first(desc="building the pre-resize cache"):
        splits = apply_preresize_cache(
            dataset, preprocess, cache_dir, augment=augment, num_proc=cores if cores > 1 else None
        )
    splits["train_eval"] = splits["train"].with_transform(build_cached_eval_transform(preprocess))
    for name in ("validation", "test"):
        splits[f"{UNCACHED_PREFIX}{name}"] = dataset[name]
    return splits


def report_splits(splits: DatasetDict) -> DatasetDict:
    """Validation + test as the evaluation report needs them: image files, not cached pixels."""
    return DatasetDict(
        {name: splits.get(f"{UNCACHED_PREFIX}{name}", splits[name]) for name in ("validation", "test")}
    )
