"""The validation pass: every bad-image kind is found, named and skipped (or fatal); good files are kept."""

from __future__ import annotations

import logging

import pytest
from PIL import Image

import hf_aidetect.data.validation as validation
from hf_aidetect import load_detection_dataset
from hf_aidetect.data import check_image
from hf_aidetect.errors import BadImageError, DatasetLayoutError
from tests.utils import (
    BAD_KINDS,
    GOOD_KINDS,
    make_class_folder,
    write_bomb_png,
    write_kind,
    write_truncated_jpeg,
)

EXPECTED_REASON = {"truncated_jpeg": "truncated", "zero_byte": "0 bytes", "not_an_image": "not an image"}


@pytest.mark.parametrize("kind", sorted(GOOD_KINDS))
def test_good_kinds_pass(tmp_path, kind):
    assert check_image(write_kind(tmp_path, kind)) is None


@pytest.mark.parametrize("kind", sorted(BAD_KINDS))
def test_bad_kinds_have_reasons(tmp_path, kind):
    reason = check_image(write_kind(tmp_path, kind))
    assert reason is not None and EXPECTED_REASON[kind] in reason


def test_truncated_png_and_short_jpeg_are_bad(tmp_path):
    png = write_kind(tmp_path, "rgb_png")
    png.write_bytes(png.read_bytes()[:-40])
    assert check_image(png) is not None
    assert check_image(write_truncated_jpeg(tmp_path / "tiny.jpg", keep=0.9)) is not None
    assert check_image(tmp_path / "missing.jpg").startswith("cannot read")


@pytest.mark.parametrize("limit_factor", [0.8, 0.3])  # 0.8: Pillow's warning zone; 0.3: its hard error
def test_decompression_bomb(tmp_path, monkeypatch, limit_factor):
    path = write_bomb_png(tmp_path / "bomb.png", size=64)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", int(64 * 64 * limit_factor))
    assert "decompression bomb" in check_image(path)


def test_load_skips_every_bad_kind_and_keeps_every_good_one(tmp_path, monkeypatch, caplog):
    root = make_class_folder(tmp_path / "c", {"real": 6, "fake": 6})
    good = [write_kind(root / "real", kind) for kind in GOOD_KINDS]
    bad = [write_kind(root / "fake", kind) for kind in BAD_KINDS]
    bomb = write_bomb_png(root / "fake" / "bomb.png", size=128)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 4500)  # the other files are at most 64 x 64 = 4096 px
    with caplog.at_level(logging.WARNING, logger="hf_aidetect"):
        dd, report = load_detection_dataset(root, validation_size=2, test_size=2, return_report=True)
    reported = {b.path: b.reason for b in report.bad_images}
    assert set(reported) == {str(p) for p in [*bad, bomb]}
    assert "decompression bomb" in reported[str(bomb)]
    for path in bad:
        assert str(path) in caplog.text
    kept = {row["path"] for ds in dd.values() for row in ds.cast_column("image", _raw())["image"]}
    assert {str(p) for p in good} <= kept
    assert len(kept) == 12 + len(good)


def test_bad_images_error_lists_every_file(tmp_path):
    root = make_class_folder(tmp_path / "c", {"real": 4, "fake": 4})
    bad = [write_kind(root / "real", kind) for kind in BAD_KINDS]
    with pytest.raises(BadImageError, match="3 unreadable") as info:
        load_detection_dataset(root, bad_images="error")
    for path in bad:
        assert str(path) in str(info.value)


def test_validate_false_keeps_files_unchecked(tmp_path):
    root = make_class_folder(tmp_path / "c", {"real": 4, "fake": 4})
    write_kind(root / "real", "zero_byte")
    dd, report = load_detection_dataset(
        root, validate=False, validation_size=2, test_size=2, return_report=True
    )
    assert report.bad_images == []
    assert sum(len(ds) for ds in dd.values()) == 9


def test_class_emptied_by_bad_files_is_an_error(tmp_path):
    root = make_class_folder(tmp_path / "c", {"real": 4})
    write_kind(root / "fake", "zero_byte")
    with pytest.raises(DatasetLayoutError, match="no 'fake' images"):
        load_detection_dataset(root)


def test_invalid_policy():
    with pytest.raises(ValueError, match="bad_images"):
        load_detection_dataset("whatever", bad_images="ignore")


def test_process_pool_matches_sequential(tmp_path, monkeypatch):
    paths = [write_kind(tmp_path, kind) for kind in [*GOOD_KINDS, *BAD_KINDS]]
    paths.append(write_bomb_png(tmp_path / "bomb.png", size=128))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 4500)
    sequential = validation.check_images(paths, num_workers=1)
    monkeypatch.setattr(validation, "_PROCESS_POOL_MIN_FILES", 1)
    parallel = validation.check_images(paths, num_workers=2)
    assert parallel == sequential
    assert sum(reason is not None for reason in parallel) == len(BAD_KINDS) + 1


def _raw():
    from datasets import Image as ImageFeature

    return ImageFeature(decode=False)


def test_second_load_reuses_validation_results(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_AIDETECT_CACHE", str(tmp_path / "cache"))
    root = make_class_folder(tmp_path / "c", {"real": 4, "fake": 6})
    bad = write_kind(root / "real", "zero_byte")
    _, first = load_detection_dataset(root, validation_size=2, test_size=2, return_report=True)
    assert [b.path for b in first.bad_images] == [str(bad)]
    assert list((tmp_path / "cache" / "validation").glob("*.json"))

    real_check = validation.check_image
    checked: list[str] = []
    monkeypatch.setattr(validation, "check_image", lambda s: checked.append(str(s)) or real_check(s))
    _, second = load_detection_dataset(root, validation_size=2, test_size=2, return_report=True)
    assert second.bad_images == first.bad_images
    assert checked == []  # nothing changed: no file decoded again

    write_kind(root / "fake", "not_an_image", stem="fake_0000")  # same name, new content
    (root / "fake" / "fake_0000.jpg").unlink()
    changed = write_truncated_jpeg(root / "fake" / "fake_0001.jpg")
    _, third = load_detection_dataset(root, validation_size=2, test_size=2, return_report=True)
    assert set(checked) == {str(root / "fake" / "fake_0000.png"), str(changed)}
    assert {b.path for b in third.bad_images} == {str(bad), *checked}

    checked.clear()
    monkeypatch.setenv("HF_AIDETECT_VALIDATION_CACHE", "0")
    load_detection_dataset(root, validation_size=2, test_size=2)
    assert len(checked) == 4 + 1 + 6  # every file again


def test_validation_pass_has_a_progress_bar(tmp_path, capsys):
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    from tests.utils import write_rgb_png

    enable_progress_bars()  # an earlier `hf-aidetect -q` in this process may have turned them off
    image = str(write_rgb_png(tmp_path / "one.png", size=8))
    assert validation.check_images([image] * 250, num_workers=1) == [None] * 250
    assert "validating images: 100%" in capsys.readouterr().err
    validation.check_images([image] * 20, num_workers=1)  # over before a bar would say anything
    assert "validating images" not in capsys.readouterr().err
    disable_progress_bars()  # what hf-aidetect -q does (and HF_HUB_DISABLE_PROGRESS_BARS=1)
    try:
        validation.check_images([image] * 250, num_workers=1)
    finally:
        enable_progress_bars()
    assert "validating images" not in capsys.readouterr().err
