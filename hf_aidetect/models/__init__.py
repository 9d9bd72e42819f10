"""Models: the report's seed CNN as transformers classes, and ViT / any AutoModelForImageClassification.

The seed CNN is registered with ``AutoConfig`` / ``AutoModelForImageClassification`` (``model_type=
"seed_cnn"``) as soon as transformers' Auto classes are loaded, in any process that imported hf_aidetect
(:mod:`hf_aidetect._registration`), so saved CNNs load without remote code there; its classes are marked
for ``auto_map`` so ``save_pretrained`` also ships their code (they load with ``trust_remote_code=True``
where hf_aidetect is not installed). Attributes are imported on first use.
"""

from __future__ import annotations

from hf_aidetect._lazy import lazy_dir, lazy_getattr

_LAZY_ATTRIBUTES = {
    "BackboneDetectorConfig": "hf_aidetect.models.backbones",
    "BackboneDetectorForImageClassification": "hf_aidetect.models.backbones",
    "SeedCNNConfig": "hf_aidetect.models.seed_cnn.configuration_seed_cnn",
    "SeedCNNForImageClassification": "hf_aidetect.models.seed_cnn.modeling_seed_cnn",
    "ModelArguments": "hf_aidetect.models.arguments",
    "build_model": "hf_aidetect.models.factory",
    "build_image_processor": "hf_aidetect.models.factory",
    "freeze_backbone": "hf_aidetect.models.factory",
    "count_parameters": "hf_aidetect.models.factory",
    "register_auto_classes": "hf_aidetect._registration",
}

__all__ = list(_LAZY_ATTRIBUTES)

__getattr__ = lazy_getattr(__name__, _LAZY_ATTRIBUTES)
__dir__ = lazy_dir(globals(), _LAZY_ATTRIBUTES)
