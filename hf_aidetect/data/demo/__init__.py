"""Embedded demo dataset: real photo crops vs. re-synthesised fakes, written offline and deterministically.

``write_demo_dataset(out_dir)`` (or ``hf-aidetect demo-data OUT_DIR``) writes the Kaggle layout
``real_vs_fake/real-vs-fake/{train,valid,test}/{real,fake}``; see :mod:`hf_aidetect.data.demo.writer`.
"""

from __future__ import annotations

from hf_aidetect.data.demo.writer import KAGGLE_SUBDIR, SPLITS, DemoDataOptions, write_demo_dataset

__all__ = ["KAGGLE_SUBDIR", "SPLITS", "DemoDataOptions", "write_demo_dataset"]
