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

from hf_aidetect._lazy import lazy_dir, lazy_getattr

_LAZY_ATTRIBUTES = {
    **dict.fromkeys(("IMAGE_EXTENSIONS", "load_rgb", "to_rgb"), "hf_aidetect.data.images"),
    **dict.fromkeys(
        ("FAKE", "ID2LABEL", "LABEL2ID", "LABEL_NAMES", "REAL", "canonical_label"), "hf_aidetect.data.labels"
    ),
    "default_dataloader_settings": "hf_aidetect.data.loader",
    "load_detection_dataset": "hf_aidetect.data.loading",
    **dict.fromkeys(
        ("BadImage", "DatasetSummary", "LoadReport", "summarize_dataset"), "hf_aidetect.data.report"
    ),
    "check_image": "hf_aidetect.data.validation",
}

__all__ = sorted(_LAZY_ATTRIBUTES)

__getattr__ = lazy_getattr(__name__, _LAZY_ATTRIBUTES)
__dir__ = lazy_dir(globals(), _LAZY_ATTRIBUTES)
