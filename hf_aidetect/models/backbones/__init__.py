"""Pre-trained vision backbones (CLIP, SigLIP / SigLIP 2, DINOv2 / DINOv3, ConvNeXt V2) with our head.

Importing this package registers ``model_type="backbone_detector"`` with ``AutoConfig`` /
``AutoModelForImageClassification`` (saved detectors load without remote code where hf_aidetect is
installed) and marks the classes for ``auto_map`` so ``save_pretrained`` also ships their code (they load
with ``trust_remote_code=True`` where it is not).
"""

from __future__ import annotations

from transformers import AutoConfig, AutoModelForImageClassification

from hf_aidetect.models.backbones.configuration_backbone_detector import BackboneDetectorConfig
from hf_aidetect.models.backbones.modeling_backbone_detector import (
    BackboneDetectorForImageClassification,
    load_backbone,
)

AutoConfig.register(BackboneDetectorConfig.model_type, BackboneDetectorConfig, exist_ok=True)
AutoModelForImageClassification.register(
    BackboneDetectorConfig, BackboneDetectorForImageClassification, exist_ok=True
)
BackboneDetectorConfig.register_for_auto_class()
BackboneDetectorForImageClassification.register_for_auto_class("AutoModelForImageClassification")

__all__ = ["BackboneDetectorConfig", "BackboneDetectorForImageClassification", "load_backbone"]
