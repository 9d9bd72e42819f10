"""Shortcut and leak audit of a real-vs-fake dataset: ``hf-aidetect audit DATA``, a cheap part in ``train``.

* :mod:`~hf_aidetect.data.audit.facts` — header facts per file: format, size, JPEG quality, EXIF, hashes.
* :mod:`~hf_aidetect.data.audit.probe` — a metadata-only logistic-regression probe (ROC-AUC per feature).
* :mod:`~hf_aidetect.data.audit.duplicates` — exact and perceptual near-duplicates across splits.
* :mod:`~hf_aidetect.data.audit.audit` — the audit itself, its train-time part and ``audit.json`` / ``.md``.
"""

from __future__ import annotations

from hf_aidetect.data.audit.audit import AuditReport, audit_before_training, run_audit, write_audit

__all__ = ["AuditReport", "audit_before_training", "run_audit", "write_audit"]
