"""Embedded demo dataset: real photo crops vs. re-synthesised fakes, written offline and deterministically.

``write_demo_dataset(out_dir)`` (or ``hf-aidetect demo-data OUT_DIR``) writes the Kaggle layout
``real_vs_fake/real-vs-fake/{train,valid,test}/{real,fake}``; see :mod:`hf_aidetect.data.demo.writer`.
"""

from __future__ import annotations

from hf_aidetect._lazy import lazy_dir, lazy_getattr

_LAZY_ATTRIBUTES = {
    **dict.fromkeys(("KAGGLE_SUBDIR", "SPLITS", "DemoDataOptions"), "hf_aidetect.data.demo.options"),
    "write_demo_dataset": "hf_aidetect.data.demo.writer",
}

__all__ = sorted(_LAZY_ATTRIBUTES)

__getattr__ = lazy_getattr(__name__, _LAZY_ATTRIBUTES)
__dir__ = lazy_dir(globals(), _LAZY_ATTRIBUTES)
