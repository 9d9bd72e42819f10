"""Training: argument dataclasses, YAML + CLI parsing, ``DetectionTrainer`` and the ``train`` entry point.

Attributes are imported lazily so ``import hf_aidetect.training`` stays cheap (the CLI imports it for help).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY_ATTRIBUTES = {
    "ScriptArguments": "hf_aidetect.training.arguments",
    "DetectionTrainingArguments": "hf_aidetect.training.arguments",
    "parse_recipe_args": "hf_aidetect.training.config",
    "parse_dict_args": "hf_aidetect.training.config",
    "load_yaml_config": "hf_aidetect.training.config",
    "DetectionTrainer": "hf_aidetect.training.trainer",
    "compute_class_weights": "hf_aidetect.training.trainer",
    "load_exact_weights": "hf_aidetect.training.trainer",
    "train": "hf_aidetect.training.runner",
    "build_trainer": "hf_aidetect.training.runner",
}

__all__ = list(_LAZY_ATTRIBUTES)


def __getattr__(name: str) -> Any:
    if name in _LAZY_ATTRIBUTES:
        return getattr(importlib.import_module(_LAZY_ATTRIBUTES[name]), name)
    raise AttributeError(f"module 'hf_aidetect.training' has no attribute {name!r}")
