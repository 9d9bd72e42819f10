"""The report's seed CNN: ``SeedCNNConfig`` (``"seed_cnn"``) and ``SeedCNNForImageClassification``.

Imported on first use: the configuration alone (no torch) is what ``AutoConfig`` registration needs.
"""

from __future__ import annotations

from hf_aidetect._lazy import lazy_dir, lazy_getattr

_LAZY_ATTRIBUTES = {
    "SeedCNNConfig": "hf_aidetect.models.seed_cnn.configuration_seed_cnn",
    "SeedCNNForImageClassification": "hf_aidetect.models.seed_cnn.modeling_seed_cnn",
    "SeedCNNPreTrainedModel": "hf_aidetect.models.seed_cnn.modeling_seed_cnn",
}

__all__ = list(_LAZY_ATTRIBUTES)

__getattr__ = lazy_getattr(__name__, _LAZY_ATTRIBUTES)
__dir__ = lazy_dir(globals(), _LAZY_ATTRIBUTES)
