"""Pre-trained vision backbones (CLIP, SigLIP / SigLIP 2, DINOv2 / DINOv3, ConvNeXt V2) with our head.

``import hf_aidetect`` registers ``model_type="backbone_detector"`` with ``AutoConfig`` /
``AutoModelForImageClassification`` (hf_aidetect/_registration.py: saved detectors load without remote
code where hf_aidetect is imported) and marks the classes for ``auto_map`` so ``save_pretrained`` also
ships their code (they load with ``trust_remote_code=True`` where it is not).
"""

from __future__ import annotations

from hf_aidetect._registration import register_auto_classes
from hf_aidetect.models.backbones.configuration_backbone_detector import BackboneDetectorConfig
from hf_aidetect.models.backbones.modeling_backbone_detector import (
    BackboneDetectorForImageClassification,
    load_backbone,
)

register_auto_classes()  # the one registration (hf_aidetect/_registration.py); idempotent

__all__ = ["BackboneDetectorConfig", "BackboneDetectorForImageClassification", "load_backbone"]
