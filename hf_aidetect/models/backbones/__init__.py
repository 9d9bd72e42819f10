"""Pre-trained vision backbones (CLIP, SigLIP / SigLIP 2, DINOv2 / DINOv3, ConvNeXt V2) with our head.

``import hf_aidetect`` registers ``model_type="backbone_detector"`` with ``AutoConfig`` /
``AutoModelForImageClassification`` (hf_aidetect/_registration.py: saved detectors load without remote
code where hf_aidetect is imported) and marks the classes for ``auto_map`` so ``save_pretrained`` also
ships their code (they load with ``trust_remote_code=True`` where it is not).
"""

from __future__ import annotations

from hf_aidetect._lazy import lazy_dir, lazy_getattr

# Lazy, so the registration can import the configuration module while transformers is still loading.
_LAZY_ATTRIBUTES = {
    "BackboneDetectorConfig": "hf_aidetect.models.backbones.configuration_backbone_detector",
    "BackboneDetectorForImageClassification": "hf_aidetect.models.backbones.modeling_backbone_detector",
    "load_backbone": "hf_aidetect.models.backbones.modeling_backbone_detector",
}
__all__ = list(_LAZY_ATTRIBUTES)
__getattr__ = lazy_getattr(__name__, _LAZY_ATTRIBUTES)
__dir__ = lazy_dir(globals(), _LAZY_ATTRIBUTES)
