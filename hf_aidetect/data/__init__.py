"""Data layer: load any supported real-vs-fake source as ``DatasetDict(train, validation, test)``.

Labels are fixed (real=0, fake=1). See :func:`load_detection_dataset` for sources and options, and
:mod:`hf_aidetect.data.preprocessing` for the one preprocessing pipeline (native-resolution geometry,
augmentation, the decode cache, the device stage)::

    from hf_aidetect.data import load_detection_dataset
    from hf_aidetect.data.preprocessing import AugmentConfig, InputSpec, create_transforms, prepare_splits

    dataset, report = load_detection_dataset("real_vs_fake/", return_report=True)   # report.bad_images
    transforms = create_transforms(InputSpec.from_image_processor(image_processor),
                                   augment=AugmentConfig(jpeg_prob=0.3), seed=42)
    splits = prepare_splits(dataset, transforms)   # torch datasets for Trainer / DataLoader
"""

from __future__ import annotations

from hf_aidetect.data.images import IMAGE_EXTENSIONS, load_rgb, to_rgb
from hf_aidetect.data.labels import FAKE, ID2LABEL, LABEL2ID, LABEL_NAMES, REAL, canonical_label
from hf_aidetect.data.loader import default_dataloader_settings
from hf_aidetect.data.loading import load_detection_dataset
from hf_aidetect.data.report import BadImage, DatasetSummary, LoadReport, summarize_dataset
from hf_aidetect.data.validation import check_image

__all__ = [
    "FAKE",
    "ID2LABEL",
    "IMAGE_EXTENSIONS",
    "LABEL2ID",
    "LABEL_NAMES",
    "REAL",
    "BadImage",
    "DatasetSummary",
    "LoadReport",
    "canonical_label",
    "check_image",
    "default_dataloader_settings",
    "load_detection_dataset",
    "load_rgb",
    "summarize_dataset",
    "to_rgb",
]
