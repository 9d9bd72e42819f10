"""The training splits with their transforms: one call into the data layer's preprocessing pipeline.

The recipe's ``preprocess`` / ``augment`` / ``pipeline`` configs and the model's processor go to
:func:`hf_aidetect.data.preprocessing.create_transforms`, and
:func:`~hf_aidetect.data.preprocessing.prepare_splits` attaches them to the splits (building the decode
cache on the main process first when it is on).
"""

from __future__ import annotations

from datasets import DatasetDict
from transformers.image_processing_utils import BaseImageProcessor

from hf_aidetect.data.loader import PreprocessedSplit
from hf_aidetect.data.preprocessing import InputSpec, SplitTransforms, create_transforms, prepare_splits
from hf_aidetect.data.streaming import StreamingSplit
from hf_aidetect.data.workers import available_cores
from hf_aidetect.training.arguments import DetectionTrainingArguments, ScriptArguments


def build_splits(
    dataset: DatasetDict,
    processor: BaseImageProcessor,
    script_args: ScriptArguments,
    training_args: DetectionTrainingArguments,
    *,
    device_preprocessing: bool,
    channels_last: bool,
    train_stream: StreamingSplit | None = None,
) -> tuple[dict[str, PreprocessedSplit | StreamingSplit], SplitTransforms]:
    """``train`` / ``validation`` / ``test`` / ``train_eval`` ready for the Trainer, and their transforms.

    ``train_stream`` (``--streaming``): the train split is that stream, with the same train transform.
    """
    transforms = create_transforms(
        InputSpec.from_image_processor(processor),
        script_args.preprocess,
        script_args.augment,
        seed=training_args.seed,
        device_preprocessing=device_preprocessing,
        channels_last=channels_last,
    )
    cores = available_cores()
    with training_args.main_process_first(desc="building the decode cache"):
        splits = prepare_splits(
            dataset, transforms, script_args.pipeline, num_proc=cores if cores > 1 else None
        )
    if train_stream is not None:
        splits["train"] = train_stream.with_transform(transforms.train)
    return splits, transforms
