"""hf_aidetect: detectors of AI-generated face images on the Hugging Face stack.

Importing the package registers the seed CNN with ``AutoConfig`` / ``AutoModelForImageClassification`` so
saved CNNs load without ``trust_remote_code`` wherever hf_aidetect is installed.
"""

from __future__ import annotations

import importlib

from hf_aidetect._lazy import lazy_getattr

__version__ = "0.1.0"

_LAZY_ATTRIBUTES = {
    "load_detection_dataset": "hf_aidetect.data",
    "summarize_dataset": "hf_aidetect.data",
    "REAL": "hf_aidetect.data.labels",
    "FAKE": "hf_aidetect.data.labels",
    "ID2LABEL": "hf_aidetect.data.labels",
    "LABEL2ID": "hf_aidetect.data.labels",
    "SeedCNNConfig": "hf_aidetect.models",
    "SeedCNNForImageClassification": "hf_aidetect.models",
}

__all__ = ["__version__", *_LAZY_ATTRIBUTES]

__getattr__ = lazy_getattr(__name__, _LAZY_ATTRIBUTES)


# Registration happens at import so AutoModel* resolve model_type "seed_cnn" without remote code.
importlib.import_module("hf_aidetect.models")
