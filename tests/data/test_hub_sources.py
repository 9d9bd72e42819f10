"""Source (d): save_to_disk folders, local load_dataset-able folders, Dataset objects, and Hub ids."""

from __future__ import annotations

import io

import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from datasets import Image as ImageFeature

import hf_aidetect.data.hub as hub_module
from hf_aidetect import load_detection_dataset
from hf_aidetect.data import FAKE, REAL
from hf_aidetect.errors import BadImageError, DatasetLayoutError, HubError
from tests.utils import make_disk_dataset, rgb_array


@pytest.mark.parametrize("label_style", ["classlabel", "string", "int"])
def test_save_to_disk_labels_map_to_real0_fake1(tmp_path, label_style):
    folder = make_disk_dataset(
        tmp_path / "saved", label_style=label_style, n_per_class=6, source_column="gen"
    )
    dd, report = load_detection_dataset(
        folder, validation_size=2, test_size=2, source_column="gen", return_report=True
    )
    assert report.layout == "saved"
    assert list(dd) == ["train", "validation", "test"]
    for ds in dd.values():
        assert ds.features["label"] == ClassLabel(names=["real", "fake"])
        assert set(ds.column_names) == {"image", "label", "source"}
    assert sum(ds["label"].count(REAL) for ds in dd.values()) == 6
    assert sum(ds["label"].count(FAKE) for ds in dd.values()) == 6
    for ds in dd.values():  # the source column carries the truth: real rows come from "camera"
        assert all((label == REAL) == (src == "camera") for label, src in zip(ds["label"], ds["source"]))
    assert dd["train"][0]["image"].mode == "RGB"


def test_custom_columns_and_source_column(tmp_path):
    folder = make_disk_dataset(
        tmp_path / "saved",
        image_column="img",
        label_column="is_fake",
        label_style="int",
        source_column="generator",
        splits=("train", "valid", "test"),
        n_per_class=3,
    )
    dd = load_detection_dataset(folder, image_column="img", label_column="is_fake", source_column="generator")
    assert [len(ds) for ds in dd.values()] == [6, 6, 6]
    assert set(dd["train"]["source"]) == {"camera", "gan0", "gan1", "gan2"}
    for ds in dd.values():
        for label, source in zip(ds["label"], ds["source"]):
            assert (label == REAL) == (source == "camera")


def test_missing_column_names_the_flag(tmp_path):
    folder = make_disk_dataset(tmp_path / "saved", image_column="img")
    with pytest.raises(DatasetLayoutError, match="image_column"):
        load_detection_dataset(folder)
    with pytest.raises(DatasetLayoutError, match="source_column"):
        load_detection_dataset(folder, image_column="img", source_column="nope")


def test_unknown_label_values_are_named(tmp_path):
    images = [{"bytes": _png_bytes(i), "path": None} for i in range(4)]
    ds = Dataset.from_dict(
        {"image": images, "label": ["real", "fake", "maybe", "real"]},
        features=Features({"image": ImageFeature(), "label": Value("string")}),
    )
    with pytest.raises(DatasetLayoutError, match="maybe"):
        load_detection_dataset(ds)


def test_unknown_hub_split_asks_for_split_kwarg(tmp_path):
    ds = _tiny_dataset(6)
    with pytest.raises(DatasetLayoutError, match="split="):
        load_detection_dataset(DatasetDict({"train": ds, "holdout": ds}))


def test_streaming_datasets_are_refused(monkeypatch):
    from datasets import IterableDatasetDict

    streamed = IterableDatasetDict({"train": _tiny_dataset(4).to_iterable_dataset()})
    monkeypatch.setattr(hub_module, "load_dataset", lambda path, **kwargs: streamed)
    with pytest.raises(DatasetLayoutError, match="streaming"):
        load_detection_dataset("someone/faces", streaming=True)


def test_local_parquet_folder_goes_through_load_dataset(tmp_path):
    folder = tmp_path / "parquet_ds"
    (folder / "data").mkdir(parents=True)
    _tiny_dataset(8).to_parquet(str(folder / "data" / "train-00000-of-00001.parquet"))
    dd = load_detection_dataset(folder, validation_size=2, test_size=2)
    assert sum(len(ds) for ds in dd.values()) == 16
    assert dd["train"].features["label"] == ClassLabel(names=["real", "fake"])


def test_hub_id_calls_load_dataset_with_kwargs(monkeypatch):
    calls = []

    def fake_load_dataset(path, **kwargs):
        calls.append((path, kwargs))
        return DatasetDict({"train": _tiny_dataset(6), "test": _tiny_dataset(3, offset=50)})

    monkeypatch.setattr(hub_module, "load_dataset", fake_load_dataset)
    dd, report = load_detection_dataset(
        "someone/faces", revision="main", validation_size=2, return_report=True
    )
    assert calls == [("someone/faces", {"revision": "main"})]
    assert report.layout == "hub"
    assert report.carved_splits == ["validation"]
    assert len(dd["test"]) == 6


def test_hub_failure_is_a_hub_error(monkeypatch):
    # Patched: a real offline attempt can wait on network timeouts when the Hub env was set after import.
    def unreachable(path, **kwargs):
        raise ConnectionError("Couldn't reach the Hub")

    monkeypatch.setattr(hub_module, "load_dataset", unreachable)
    with pytest.raises(HubError, match=r"someone/faces.*reach"):
        load_detection_dataset("someone/faces")


def test_embedded_bad_bytes_are_reported_by_row(tmp_path):
    good = [{"bytes": _png_bytes(i), "path": None} for i in range(8)]
    bad = [{"bytes": b"not an image at all", "path": None}, {"bytes": _png_bytes(99)[:60], "path": None}]
    ds = Dataset.from_dict(
        {"image": good + bad, "label": [0, 1] * 5},
        features=Features({"image": ImageFeature(), "label": ClassLabel(names=["real", "fake"])}),
    )
    dd, report = load_detection_dataset(ds, validation_size=2, test_size=2, return_report=True)
    assert [b.path for b in report.bad_images] == ["train[8]", "train[9]"]
    assert sum(len(split) for split in dd.values()) == 8
    with pytest.raises(BadImageError, match=r"train\[8\]"):
        load_detection_dataset(ds, bad_images="error")


def _png_bytes(seed: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb_array(32, seed)).save(buffer, format="PNG")
    return buffer.getvalue()


def _tiny_dataset(n_per_class: int, offset: int = 0) -> Dataset:
    images = [{"bytes": _png_bytes(offset + i), "path": None} for i in range(2 * n_per_class)]
    return Dataset.from_dict(
        {"image": images, "label": ["fake", "real"] * n_per_class},
        features=Features({"image": ImageFeature(), "label": ClassLabel(names=["fake", "real"])}),
    )


def test_one_class_hub_split_is_an_error():
    images = [{"bytes": _png_bytes(i), "path": None} for i in range(4)]
    ds = Dataset.from_dict(
        {"image": images, "label": [0, 0, 0, 0]},
        features=Features({"image": ImageFeature(), "label": ClassLabel(names=["real", "fake"])}),
    )
    with pytest.raises(DatasetLayoutError, match="no 'fake' images"):
        load_detection_dataset(ds)


def test_saved_dataset_validation_is_remembered(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_AIDETECT_CACHE", str(tmp_path / "cache"))
    good = [{"bytes": _png_bytes(i), "path": None} for i in range(8)]
    ds = Dataset.from_dict(
        {"image": [*good, {"bytes": b"junk", "path": None}], "label": [0, 1] * 4 + [0]},
        features=Features({"image": ImageFeature(), "label": ClassLabel(names=["real", "fake"])}),
    )
    ds.save_to_disk(str(tmp_path / "saved"))
    _, first = load_detection_dataset(tmp_path / "saved", validation_size=2, test_size=2, return_report=True)
    assert [b.path for b in first.bad_images] == ["train[8]"]

    def must_not_run(*args, **kwargs):
        raise AssertionError("validation should come from the cache")

    monkeypatch.setattr(hub_module, "check_images", must_not_run)
    dd, second = load_detection_dataset(
        tmp_path / "saved", validation_size=2, test_size=2, return_report=True
    )
    assert second.bad_images == first.bad_images
    assert sum(len(split) for split in dd.values()) == 8
