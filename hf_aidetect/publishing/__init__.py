"""Publishing: model cards rendered from a training output folder, and the push to the Hub.

``ModelCardCallback`` / ``write_model_card`` / ``render_model_card`` (cards) and ``push_to_hub`` (upload
the best checkpoint with its card, metrics and plots). Heavy imports happen on first attribute access.
"""

from __future__ import annotations

from hf_aidetect._lazy import lazy_getattr

_LAZY_ATTRIBUTES = {
    "ModelCardCallback": "hf_aidetect.publishing.model_card",
    "write_model_card": "hf_aidetect.publishing.model_card",
    "render_model_card": "hf_aidetect.publishing.model_card",
    "template_path": "hf_aidetect.publishing.model_card",
    "CardInputs": "hf_aidetect.publishing.card_inputs",
    "collect_card_inputs": "hf_aidetect.publishing.card_inputs",
    "push_to_hub": "hf_aidetect.publishing.push",
    "push_output_dir": "hf_aidetect.publishing.push",
    "select_files": "hf_aidetect.publishing.push",
    "PushResult": "hf_aidetect.publishing.push",
    "DEFAULT_ALLOW_PATTERNS": "hf_aidetect.publishing.push",
    "DEFAULT_IGNORE_PATTERNS": "hf_aidetect.publishing.push",
}

__all__ = list(_LAZY_ATTRIBUTES)

__getattr__ = lazy_getattr(__name__, _LAZY_ATTRIBUTES)
