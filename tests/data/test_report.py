"""Dataset summary / load report and INFO logging."""

from __future__ import annotations

import json
import logging
import math

import pytest
from datasets import DatasetDict

from hf_aidetect import load_detection_dataset, summarize_dataset
from hf_aidetect.data import DatasetSummary
from hf_aidetect.data.preprocessing import InputSpec, create_transforms, with_transform
from tests.utils import make_class_folder, make_split_layout


def test_summary_counts_imbalance_and_serialisation(tmp_path, caplog):
    root = make_split_layout(
        tmp_path / "d",
        {"train": {"real": 9, "fake": 3}, "valid": {"real": 2, "fake": 2}, "test": {"real": 2, "fake": 1}},
    )
    with caplog.at_level(logging.INFO, logger="hf_aidetect"):
        dd, report = load_detection_dataset(root, return_report=True)
    summary = report.summary
    assert summary.counts == {
        "train": {"real": 9, "fake": 3},
        "validation": {"real": 2, "fake": 2},
        "test": {"real": 2, "fake": 1},
    }
    assert summary.imbalance_ratio == 3.0
    assert summary.total == 19
    assert summary.class_weights() == pytest.approx([12 / 18, 12 / 6])
    assert "train: 9 real / 3 fake" in caplog.text
    as_json = json.loads(json.dumps(report.to_dict()))
    assert as_json["counts"]["train"] == {"real": 9, "fake": 3}
    assert as_json["imbalance_ratio"] == 3.0 and as_json["bad_images"] == [] and as_json["layout"] == "splits"
    markdown = summary.to_markdown()
    assert "| train | 9 | 3 | 12 |" in markdown and "3.00" in markdown
    assert summarize_dataset(dd).counts == summary.counts


def test_summarize_works_on_transformed_datasets_and_counts_sources(tmp_path):
    root = make_class_folder(tmp_path / "c", {"real": 4, "fake": 6}, sources=["gan_a", "gan_b"])
    dd = load_detection_dataset(root, validation_size=2, test_size=2)
    transformed = DatasetDict(
        {
            name: with_transform(split, create_transforms(InputSpec(size=16)).evaluation)
            for name, split in dd.items()
        }
    )
    summary = summarize_dataset(transformed)
    assert summary.counts == summarize_dataset(dd).counts
    assert sum(sum(per.values()) for per in summary.sources.values()) == 10
    assert set(summary.sources["train"]) <= {"gan_a", "gan_b"}


def test_imbalance_without_minority_is_infinite():
    summary = DatasetSummary(counts={"train": {"real": 3, "fake": 0}})
    assert math.isinf(summary.imbalance_ratio)
    assert summary.to_dict()["imbalance_ratio"] is None


def test_arrow_column_honours_select_and_shuffle():
    from datasets import Dataset

    from hf_aidetect.data.report import arrow_column

    dataset = Dataset.from_dict({"x": list(range(50)), "y": [str(i) for i in range(50)]})
    for view in (dataset, dataset.select([7, 3, 3, 40]), dataset.shuffle(seed=0).select(range(10, 30))):
        for name in ("x", "y"):
            assert arrow_column(view, name).to_pylist() == view[name]
