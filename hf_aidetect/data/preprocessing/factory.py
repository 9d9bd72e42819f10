"""``create_transforms``: the one factory of the preprocessing pipeline, and ``prepare_splits`` on top of it.

As timm's ``create_transform``, one call takes the typed configs and returns everything a run needs:
the train and evaluation loader-stage transforms and, when the batched stage runs on the training
device, that stage. :func:`prepare_splits` attaches them to a ``DatasetDict`` (through the decode cache
when it is on) as :class:`~hf_aidetect.data.loader.PreprocessedSplit` s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from datasets import DatasetDict
from datasets import Image as ImageFeature

from hf_aidetect.data.loader import PreprocessedSplit
from hf_aidetect.data.preprocessing.batch import BatchAugment
from hf_aidetect.data.preprocessing.cache import build_decode_cache, default_cache_dir
from hf_aidetect.data.preprocessing.config import AugmentConfig, InputSpec, PipelineConfig, PreprocessConfig
from hf_aidetect.data.preprocessing.transform import ImageTransform

logger = logging.getLogger(__name__)


@dataclass
class SplitTransforms:
    """The loader-stage transforms of a run, and the device stage when the batched work runs there."""

    spec: InputSpec
    train: ImageTransform
    evaluation: ImageTransform
    device_stage: BatchAugment | None = None


def create_transforms(
    spec: InputSpec,
    preprocess: PreprocessConfig | None = None,
    augment: AugmentConfig | None = None,
    *,
    seed: int = 0,
    device_preprocessing: bool = False,
    channels_last: bool = False,
    crops: int = 1,
) -> SplitTransforms:
    """Train / evaluation transforms for ``spec`` (the model's input) and the recipe's configs.

    ``device_preprocessing``: the loader ships uint8 (+ draws) and the returned ``device_stage`` flips,
    blurs and normalises on the device; otherwise the loader finishes the batch itself. ``channels_last``
    is the memory format the batches come out in. ``crops`` > 1: multi-crop evaluation.
    """
    preprocess = preprocess or PreprocessConfig(geometry=spec.geometry)
    if preprocess.geometry != spec.geometry:
        raise ValueError(
            f"geometry {preprocess.geometry!r} differs from the processor's {spec.geometry!r}: build the "
            "processor with hf_aidetect.data.preprocessing.processor_for first."
        )
    stage = BatchAugment(spec, augment, channels_last=channels_last)
    loader_stage = None if device_preprocessing else stage
    common = {"seed": seed, "batch_stage": loader_stage}
    return SplitTransforms(
        spec=spec,
        train=ImageTransform(spec, preprocess, augment, train=True, **common),
        evaluation=ImageTransform(spec, preprocess, None, crops=crops, **common),
        device_stage=stage if device_preprocessing else None,
    )


def prepare_splits(
    dataset: DatasetDict,
    transforms: SplitTransforms,
    pipeline: PipelineConfig | None = None,
    *,
    image_column: str = "image",
    num_proc: int | None = None,
) -> dict[str, PreprocessedSplit]:
    """Every split of ``dataset`` as a :class:`PreprocessedSplit`, plus ``train_eval`` (train, no augment).

    With ``pipeline.decode_cache`` the rows come from the decode cache (built once, reused).
    """
    pipeline = pipeline or PipelineConfig()
    if pipeline.decode_cache:
        cache_dir = Path(pipeline.decode_cache_dir) if pipeline.decode_cache_dir else default_cache_dir()
        logger.info("Decode cache in %s (built once, reused by later runs on the same data).", cache_dir)
        rows = build_decode_cache(dataset, cache_dir, num_proc, image_column=image_column)
    else:
        rows = DatasetDict(
            {
                name: split.cast_column(image_column, ImageFeature(decode=False))
                for name, split in dataset.items()
            }
        )
    splits = {
        name: PreprocessedSplit(split, transforms.train if name == "train" else transforms.evaluation)
        for name, split in rows.items()
    }
    if "train" in rows:
        splits["train_eval"] = PreprocessedSplit(rows["train"], transforms.evaluation)
    return splits
