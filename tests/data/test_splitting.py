"""Stratified carving of missing validation / test splits."""

from __future__ import annotations

import pytest
from datasets import ClassLabel, Dataset, Features, Value

from hf_aidetect import load_detection_dataset
from hf_aidetect.data.splitting import carve_missing_splits
from hf_aidetect.errors import ConfigError, DatasetLayoutError
from tests.utils import make_split_layout

FEATURES = Features({"id": Value("int64"), "label": ClassLabel(names=["real", "fake"])})


def _train(n_real: int, n_fake: int) -> Dataset:
    labels = [0] * n_real + [1] * n_fake
    return Dataset.from_dict({"id": list(range(len(labels))), "label": labels}, features=FEATURES)


def _fractions(ds: Dataset) -> tuple[int, int]:
    return ds["label"].count(0), ds["label"].count(1)


def test_stratified_proportions_per_class():
    splits, carved = carve_missing_splits(
        {"train": _train(300, 100)}, validation_size=0.1, test_size=0.2, seed=0
    )
    assert carved == ["validation", "test"]
    assert _fractions(splits["test"]) == (60, 20)  # 20 % of each class
    assert _fractions(splits["validation"]) == (30, 10)  # 10 % of the original train, per class
    assert _fractions(splits["train"]) == (210, 70)
    ids = [set(ds["id"]) for ds in splits.values()]
    assert set().union(*ids) == set(range(400))
    assert sum(len(i) for i in ids) == 400  # disjoint


def test_same_seed_same_split_other_seed_differs():
    def ids(seed):
        splits, _ = carve_missing_splits(
            {"train": _train(50, 50)}, validation_size=0.2, test_size=0.2, seed=seed
        )
        return {name: ds["id"] for name, ds in splits.items()}

    assert ids(1) == ids(1)
    assert ids(1) != ids(2)


def test_only_the_missing_split_is_carved():
    test = _train(5, 5)
    splits, carved = carve_missing_splits(
        {"train": _train(40, 40), "test": test}, validation_size=0.25, test_size=0.5, seed=0
    )
    assert carved == ["validation"]
    assert splits["test"] is test
    assert _fractions(splits["validation"]) == (10, 10)
    assert list(splits) == ["train", "validation", "test"]


def test_integer_sizes_are_counts():
    splits, _ = carve_missing_splits({"train": _train(20, 20)}, validation_size=4, test_size=6, seed=0)
    assert len(splits["validation"]) == 4
    assert len(splits["test"]) == 6
    assert _fractions(splits["test"]) == (3, 3)


@pytest.mark.parametrize("size", [0.0, 1.0, -0.1, 1, True])
def test_invalid_sizes(size):
    with pytest.raises(ConfigError, match="validation_size"):
        carve_missing_splits({"train": _train(20, 20)}, validation_size=size, test_size=0.1, seed=0)


def test_too_small_to_carve_is_actionable():
    with pytest.raises(DatasetLayoutError, match="Too few images"):
        carve_missing_splits({"train": _train(1, 1)}, validation_size=0.1, test_size=0.1, seed=0)


def test_folder_with_train_and_valid_only_gets_a_stratified_test(tmp_path):
    root = make_split_layout(
        tmp_path / "d", {"train": {"real": 12, "fake": 8}, "valid": {"real": 2, "fake": 2}}
    )
    dd, report = load_detection_dataset(root, test_size=0.25, return_report=True)
    assert report.carved_splits == ["test"]
    assert _fractions(dd["test"]) == (3, 2)
    assert _fractions(dd["validation"]) == (2, 2)
    assert _fractions(dd["train"]) == (9, 6)
