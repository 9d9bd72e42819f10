"""Using a trained detector: batched prediction, the evaluation report, thresholds, robustness, explanations.

Modules, one job each:

* :mod:`~hf_aidetect.inference.loading` — load a model folder / Hub id, pick the device, read the threshold.
* :mod:`~hf_aidetect.inference.files` — expand files / folders / globs into an ordered file list.
* :mod:`~hf_aidetect.inference.predict` — batched prediction over files with decoding overlapped with compute.
* :mod:`~hf_aidetect.inference.formats` — CSV / JSONL / table writers for prediction rows.
* :mod:`~hf_aidetect.inference.scoring` — P(fake) for every row of a ``datasets`` split.
* :mod:`~hf_aidetect.inference.threshold` — choose the decision threshold (in logit space).
* :mod:`~hf_aidetect.inference.operating_point` — which threshold applies, and folding it into the model.
* :mod:`~hf_aidetect.inference.score_table` — per-image scores behind a report (``scores.csv``).
* :mod:`~hf_aidetect.inference.evaluate_many` — several labelled sets at one operating point, one table.
* :mod:`~hf_aidetect.inference.unsure` — the "unsure" answer of ``predict --unsure``.
* :mod:`~hf_aidetect.inference.robustness` — test-time perturbations and the robustness table.
* :mod:`~hf_aidetect.inference.explain` — attention rollout / Grad-CAM / saliency heatmaps and overlays.
* :mod:`~hf_aidetect.inference.plots` — confusion matrix, ROC, PR, histograms, gallery (matplotlib, Agg).
* :mod:`~hf_aidetect.inference.evaluation` — the whole report: :func:`evaluate_model`.
"""

from __future__ import annotations

from hf_aidetect._lazy import lazy_getattr

_LAZY_ATTRIBUTES = {
    "load_detector": "hf_aidetect.inference.loading",
    "resolve_device": "hf_aidetect.inference.loading",
    "expand_paths": "hf_aidetect.inference.files",
    "predict_files": "hf_aidetect.inference.predict",
    "PredictionRow": "hf_aidetect.inference.predict",
    "choose_threshold": "hf_aidetect.inference.threshold",
    "save_threshold": "hf_aidetect.inference.threshold",
    "PERTURBATIONS": "hf_aidetect.inference.robustness",
    "explain_image": "hf_aidetect.inference.explain",
    "overlay_heatmap": "hf_aidetect.inference.explain",
    "evaluate_model": "hf_aidetect.inference.evaluation",
    "evaluate_sets": "hf_aidetect.inference.evaluate_many",
    "load_evaluation_sets": "hf_aidetect.inference.evaluate_many",
    "mark_unsure": "hf_aidetect.inference.unsure",
}

__all__ = list(_LAZY_ATTRIBUTES)

__getattr__ = lazy_getattr(__name__, _LAZY_ATTRIBUTES)
