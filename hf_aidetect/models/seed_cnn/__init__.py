"""The report's seed CNN: ``SeedCNNConfig`` (``"seed_cnn"``) and ``SeedCNNForImageClassification``."""

from hf_aidetect.models.seed_cnn.configuration_seed_cnn import SeedCNNConfig
from hf_aidetect.models.seed_cnn.modeling_seed_cnn import (
    SeedCNNForImageClassification,
    SeedCNNPreTrainedModel,
)

__all__ = ["SeedCNNConfig", "SeedCNNForImageClassification", "SeedCNNPreTrainedModel"]
