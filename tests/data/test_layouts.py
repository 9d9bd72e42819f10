"""Folder layouts (a) splits, (b) Kaggle 140k, (c) class folders: label mapping, sources, errors."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from datasets import ClassLabel, DatasetDict, Image

from hf_aidetect import load_detection_dataset
from hf_aidetect.data import FAKE, REAL
from hf_aidetect.errors import DatasetLayoutError
from tests.utils import make_class_folder, make_kaggle_layout, make_split_layout, write_rgb_jpeg


def _paths_by_label(dataset) -> dict[int, set[str]]:
    raw = dataset.cast_column("image", Image(decode=False))
    out: dict[int, set[str]] = {REAL: set(), FAKE: set()}
    for row in raw:
        out[row["label"]].add(Path(row["image"]["path"]).parent.name.lower())
    return out


def _counts(dd: DatasetDict) -> dict[str, tuple[int, int]]:
    return {split: (ds["label"].count(REAL), ds["label"].count(FAKE)) for split, ds in dd.items()}


def test_split_layout_keeps_given_splits_and_fixed_labels(tmp_path):
    root = make_split_layout(tmp_path / "data")
    dd = load_detection_dataset(root)
    assert list(dd) == ["train", "validation", "test"]
    assert _counts(dd) == {"train": (8, 8), "validation": (3, 3), "test": (3, 3)}
    for ds in dd.values():
        assert ds.features["label"] == ClassLabel(names=["real", "fake"])
        assert isinstance(ds.features["image"], Image)
        assert set(ds.column_names) == {"image", "label", "source"}
        assert _paths_by_label(ds) == {REAL: {"real"}, FAKE: {"fake"}}
    assert dd["train"][0]["image"].mode == "RGB"


@pytest.mark.parametrize("val_name", ["valid", "val", "validation", "VALID", "Dev"])
def test_split_folder_aliases(tmp_path, val_name):
    root = make_split_layout(
        tmp_path / "d",
        {"Train": {"real": 4, "fake": 4}, val_name: {"real": 2, "fake": 2}, "TEST": {"real": 2, "fake": 2}},
    )
    assert _counts(load_detection_dataset(root)) == {"train": (4, 4), "validation": (2, 2), "test": (2, 2)}


def test_kaggle_layout_outer_and_inner_folder(tmp_path):
    outer, inner = make_kaggle_layout(tmp_path / "kaggle")
    expected = {"train": (6, 6), "validation": (3, 3), "test": (3, 3)}
    for source in (outer, outer / "real_vs_fake", inner):
        dd, report = load_detection_dataset(source, return_report=True)
        assert _counts(dd) == expected
        assert report.root == str(inner)
        assert report.layout == "splits"
        assert report.carved_splits == []


def test_class_layout_is_carved_into_three_splits(tmp_path):
    root = make_class_folder(tmp_path / "c", {"real": 10, "fake": 10})
    dd, report = load_detection_dataset(root, return_report=True)
    assert report.layout == "classes"
    assert report.carved_splits == ["validation", "test"]
    assert sum(len(ds) for ds in dd.values()) == 20
    for ds in dd.values():
        assert {REAL, FAKE} <= set(ds["label"])


@pytest.mark.parametrize(
    ("real_name", "fake_name"),
    [
        ("REAL", "FAKE"),
        ("Real", "Fake"),
        ("0_real", "1_fake"),
        ("human", "ai"),
        ("authentic", "generated"),
        ("Authentic", "Synthetic"),
        ("0", "1"),
    ],
)
def test_label_mapping_is_fixed_whatever_the_folder_names(tmp_path, real_name, fake_name):
    # Sort order differs between cases ("0_real" < "1_fake" but "ai" < "human"): the mapping must not.
    root = make_class_folder(tmp_path / "c", {real_name: 6, fake_name: 4})
    dd = load_detection_dataset(root, validation_size=2, test_size=2)
    total = {label: sum(ds["label"].count(label) for ds in dd.values()) for label in (REAL, FAKE)}
    assert total == {REAL: 6, FAKE: 4}
    for ds in dd.values():
        by_label = _paths_by_label(ds)
        assert by_label[REAL] == {real_name.lower()}
        assert by_label[FAKE] == {fake_name.lower()}


def test_two_aliases_of_one_class_are_merged(tmp_path):
    root = make_class_folder(tmp_path / "c", {"real": 4, "ai": 2, "generated": 2})
    dd = load_detection_dataset(root, validation_size=2, test_size=2)
    assert sum(ds["label"].count(FAKE) for ds in dd.values()) == 4


def test_nested_generator_folders_become_source(tmp_path):
    root = tmp_path / "nested"
    make_class_folder(root / "train", {"real": 4, "fake": 6}, sources=None)
    make_class_folder(root / "train_gen", {"fake": 6}, sources=["stylegan2", "sd15"])
    for path in (root / "train_gen" / "fake").iterdir():
        shutil.move(str(path), root / "train" / "fake" / path.name)
    shutil.rmtree(root / "train_gen")
    write_rgb_jpeg(root / "train" / "fake" / "sd15" / "deeper" / "x.jpg")
    dd = load_detection_dataset(root, validation_size=2, test_size=2, seed=0)
    sources = {s for ds in dd.values() for s in ds["source"]}
    assert sources == {"", "stylegan2", "sd15"}
    total = sum(len(ds) for ds in dd.values())
    assert total == 4 + 6 + 6 + 1


def test_hidden_system_and_non_image_files_are_ignored(tmp_path, caplog):
    root = make_class_folder(tmp_path / "c", {"real": 4, "fake": 4})
    (root / ".DS_Store").write_bytes(b"\0\0junk")
    (root / "real" / ".DS_Store").write_bytes(b"\0\0junk")
    (root / "real" / "Thumbs.db").write_bytes(b"\0\0junk")
    (root / "fake" / "._fake_0000.jpg").write_bytes(b"AppleDouble")
    (root / "fake" / "notes.txt").write_text("hello")
    (root / ".git").mkdir()
    (root / "__MACOSX").mkdir()
    (root / "real" / "IMG_1.JPG").write_bytes((root / "real" / "real_0000.jpg").read_bytes())
    with caplog.at_level(logging.INFO, logger="hf_aidetect"):
        dd, report = load_detection_dataset(root, validation_size=2, test_size=2, return_report=True)
    assert report.bad_images == []
    assert sum(len(ds) for ds in dd.values()) == 9  # the upper-case .JPG counts
    assert "notes.txt" in caplog.text


def test_loose_images_outside_class_folders_are_ignored_with_a_warning(tmp_path, caplog):
    root = make_class_folder(tmp_path / "c", {"real": 4, "fake": 4})
    write_rgb_jpeg(root / "unlabelled.jpg")
    with caplog.at_level(logging.WARNING, logger="hf_aidetect"):
        dd = load_detection_dataset(root, validation_size=2, test_size=2)
    assert sum(len(ds) for ds in dd.values()) == 8
    assert "unlabelled.jpg" in caplog.text


def test_order_is_deterministic(tmp_path):
    root = make_class_folder(tmp_path / "c", {"real": 8, "fake": 8})
    first = load_detection_dataset(root, seed=3)
    second = load_detection_dataset(root, seed=3)
    other = load_detection_dataset(root, seed=4)
    raw = {k: v.cast_column("image", Image(decode=False))["image"] for k, v in first.items()}
    assert raw == {k: v.cast_column("image", Image(decode=False))["image"] for k, v in second.items()}
    assert raw != {k: v.cast_column("image", Image(decode=False))["image"] for k, v in other.items()}


# ---- errors -------------------------------------------------------------------------------------------


def test_unknown_split_folder_is_named(tmp_path):
    root = make_split_layout(tmp_path / "d")
    make_class_folder(root / "holdout", {"real": 1, "fake": 1})
    with pytest.raises(DatasetLayoutError, match="holdout") as info:
        load_detection_dataset(root)
    assert str(root / "holdout") in str(info.value)


def test_unknown_class_folder_is_named(tmp_path):
    root = make_split_layout(tmp_path / "d")
    make_class_folder(root / "train", {"maybe": 1})
    with pytest.raises(DatasetLayoutError, match="'maybe'") as info:
        load_detection_dataset(root)
    assert str(root / "train") in str(info.value)
    assert "1_fake" in str(info.value)  # lists the accepted names


def test_unknown_class_folder_in_class_layout(tmp_path):
    root = make_class_folder(tmp_path / "c", {"real": 2, "fake": 2, "unsure": 2})
    with pytest.raises(DatasetLayoutError, match="unsure"):
        load_detection_dataset(root)


def test_empty_split_is_an_error(tmp_path):
    root = make_split_layout(tmp_path / "d")
    shutil.rmtree(root / "test")
    (root / "test" / "real").mkdir(parents=True)
    (root / "test" / "fake").mkdir()
    with pytest.raises(DatasetLayoutError, match="no images") as info:
        load_detection_dataset(root)
    assert str(root / "test") in str(info.value)


def test_split_without_class_folders_is_an_error(tmp_path):
    root = make_split_layout(tmp_path / "d")
    shutil.rmtree(root / "valid")
    (root / "valid").mkdir()
    with pytest.raises(DatasetLayoutError, match="no class folders"):
        load_detection_dataset(root)


def test_one_class_dataset_is_an_error(tmp_path):
    root = make_class_folder(tmp_path / "c", {"real": 6})
    with pytest.raises(DatasetLayoutError, match="no 'fake' images"):
        load_detection_dataset(root)


def test_one_class_split_is_an_error(tmp_path):
    root = make_split_layout(tmp_path / "d", {"train": {"real": 4, "fake": 4}, "test": {"fake": 3}}, size=32)
    with pytest.raises(DatasetLayoutError, match="no 'real' images") as info:
        load_detection_dataset(root)
    assert str(root / "test") in str(info.value)


def test_missing_train_and_duplicate_splits(tmp_path):
    root = make_split_layout(
        tmp_path / "a", {"valid": {"real": 2, "fake": 2}, "test": {"real": 2, "fake": 2}}
    )
    with pytest.raises(DatasetLayoutError, match="no train/"):
        load_detection_dataset(root)
    root = make_split_layout(tmp_path / "b", {"train": {"real": 2, "fake": 2}, "val": {"real": 2, "fake": 2}})
    make_class_folder(root / "valid", {"real": 2, "fake": 2})
    with pytest.raises(DatasetLayoutError, match="keep only one"):
        load_detection_dataset(root)


def test_missing_folder_and_file_sources(tmp_path):
    with pytest.raises(DatasetLayoutError, match="does not exist"):
        load_detection_dataset(tmp_path / "nope" / "deeper")
    file = write_rgb_jpeg(tmp_path / "x.jpg")
    with pytest.raises(DatasetLayoutError, match="is a file"):
        load_detection_dataset(file)


def test_folder_without_subfolders_or_data_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetLayoutError):
        load_detection_dataset(tmp_path / "empty")
