"""Models: the report's seed CNN as transformers classes, and ViT / any AutoModelForImageClassification.

Importing this package registers ``model_type="seed_cnn"`` with ``AutoConfig`` /
``AutoModelForImageClassification`` (so saved CNNs load without remote code where hf_aidetect is installed)
and marks the classes for ``auto_map`` so ``save_pretrained`` also ships their code (so they load with
``trust_remote_code=True`` where it is not).
"""

from __future__ import annotations

import importlib
from typing import Any

from transformers import AutoConfig, AutoModelForImageClassification

from hf_aidetect.models.backbones import BackboneDetectorConfig, BackboneDetectorForImageClassification
from hf_aidetect.models.seed_cnn import SeedCNNConfig, SeedCNNForImageClassification

AutoConfig.register(SeedCNNConfig.model_type, SeedCNNConfig, exist_ok=True)
AutoModelForImageClassification.register(SeedCNNConfig, SeedCNNForImageClassification, exist_ok=True)
SeedCNNConfig.register_for_auto_class()
SeedCNNForImageClassification.register_for_auto_class("AutoModelForImageClassification")

# The factory pulls in dataclasses / image processors; load it on first use only.
_LAZY_ATTRIBUTES = {
    "ModelArguments": "hf_aidetect.models.arguments",
    "build_model": "hf_aidetect.models.factory",
    "build_image_processor": "hf_aidetect.models.factory",
    "freeze_backbone": "hf_aidetect.models.factory",
    "count_parameters": "hf_aidetect.models.factory",
}

__all__ = [
    "BackboneDetectorConfig",
    "BackboneDetectorForImageClassification",
    "SeedCNNConfig",
    "SeedCNNForImageClassification",
    *_LAZY_ATTRIBUTES,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY_ATTRIBUTES:
        return getattr(importlib.import_module(_LAZY_ATTRIBUTES[name]), name)
    raise AttributeError(f"module 'hf_aidetect.models' has no attribute {name!r}")
