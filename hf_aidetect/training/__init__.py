"""Training: argument dataclasses, YAML + CLI parsing, ``DetectionTrainer`` and the ``train`` entry point.

Attributes are imported lazily so ``import hf_aidetect.training`` stays cheap (the CLI imports it for help).
"""

from __future__ import annotations

from hf_aidetect._lazy import lazy_getattr

_LAZY_ATTRIBUTES = {
    "ScriptArguments": "hf_aidetect.training.arguments",
    "DetectionTrainingArguments": "hf_aidetect.training.arguments",
    "parse_recipe_args": "hf_aidetect.training.config",
    "parse_dict_args": "hf_aidetect.training.config",
    "load_yaml_config": "hf_aidetect.training.config",
    "DetectionTrainer": "hf_aidetect.training.trainer",
    "compute_class_weights": "hf_aidetect.training.trainer",
    "load_exact_weights": "hf_aidetect.training.trainer",
    "train": "hf_aidetect.training.api",
    "build_trainer": "hf_aidetect.training.runner",
}

__all__ = list(_LAZY_ATTRIBUTES)

__getattr__ = lazy_getattr(__name__, _LAZY_ATTRIBUTES)
