"""The preprocessing pipeline: typed configs -> one factory -> loader-stage transforms + a device stage.

::

    from hf_aidetect.data.preprocessing import InputSpec, AugmentConfig, create_transforms, prepare_splits

    spec = InputSpec.from_image_processor(image_processor)       # what the model takes
    transforms = create_transforms(spec, augment=AugmentConfig(jpeg_prob=0.3), seed=42)
    splits = prepare_splits(dataset_dict, transforms)            # PreprocessedSplit per split

* :mod:`.config` -- ``PreprocessConfig`` (geometry), ``AugmentConfig``, ``PipelineConfig``, ``InputSpec``;
* :mod:`.geometry` -- native-resolution windows and the resize geometry;
* :mod:`.draws` -- augmentation randomness keyed by (seed, epoch, sample index);
* :mod:`.transform` -- the loader stage (decode, window, JPEG);
* :mod:`.batch` -- the batched stage (flip, blur, normalise), in the loader or on the device;
* :mod:`.cache` -- the decode cache;
* :mod:`.processor` -- the image processor that reproduces the evaluation geometry;
* :mod:`.factory` -- ``create_transforms`` and ``prepare_splits``.
"""

from __future__ import annotations

from datasets import Dataset
from transformers.image_processing_utils import BaseImageProcessor

from hf_aidetect.data.preprocessing.batch import BatchAugment, normalize
from hf_aidetect.data.preprocessing.config import (
    GEOMETRIES,
    AugmentConfig,
    InputSpec,
    PipelineConfig,
    PreprocessConfig,
)
from hf_aidetect.data.preprocessing.factory import SplitTransforms, create_transforms, prepare_splits
from hf_aidetect.data.preprocessing.processor import crop_image_processor, processor_for
from hf_aidetect.data.preprocessing.transform import ImageTransform

__all__ = [
    "GEOMETRIES",
    "AugmentConfig",
    "BatchAugment",
    "ImageTransform",
    "InputSpec",
    "PipelineConfig",
    "PreprocessConfig",
    "SplitTransforms",
    "create_transforms",
    "crop_image_processor",
    "eval_transform",
    "normalize",
    "prepare_splits",
    "processor_for",
    "with_transform",
]


def eval_transform(image_processor: BaseImageProcessor, crops: int = 1) -> ImageTransform:
    """The evaluation transform that reproduces ``image_processor`` (``crops`` > 1: multi-crop)."""
    spec = InputSpec.from_image_processor(image_processor)
    return create_transforms(spec, crops=crops).evaluation


def with_transform(dataset: Dataset, transform: ImageTransform) -> Dataset:
    """``dataset.with_transform(transform)`` with the image column left undecoded (the transform decodes)."""
    from datasets import Image as ImageFeature

    undecoded = dataset.cast_column(transform.image_key, ImageFeature(decode=False))
    return undecoded.with_transform(transform)
