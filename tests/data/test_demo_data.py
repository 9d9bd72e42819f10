"""The embedded demo dataset: layout, determinism, format parity between classes, generator, CLI, loading."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hf_aidetect.cli import main
from hf_aidetect.data.demo import KAGGLE_SUBDIR, SPLITS, DemoDataOptions, write_demo_dataset
from hf_aidetect.data.demo.generator import deterministic_torch, synthesize, train_generator
from hf_aidetect.data.demo.sources import draw_crops, load_source_photos, matched_halves
from hf_aidetect.errors import AIDetectError, ConfigError

# Tiny but complete: every code path, about a second per dataset.
TINY = DemoDataOptions(
    image_size=32,
    train_per_class=4,
    valid_per_class=2,
    test_per_class=3,
    generator_steps=5,
    generator_crops=8,
    generator_width=8,
    num_threads=1,  # also what keeps a busy CI machine from slowing the tests down
)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _images(root: Path, label: str | None = None) -> list[Path]:
    pattern = f"*/{label}/*" if label else "*/*/*"
    return sorted((root / KAGGLE_SUBDIR).glob(pattern))


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_dataset(tmp_path_factory.mktemp("demo"), TINY)


def test_layout_counts_and_card(demo_dir: Path) -> None:
    root = demo_dir / KAGGLE_SUBDIR
    assert sorted(p.name for p in root.iterdir()) == sorted(SPLITS)
    for split in SPLITS:
        for label in ("real", "fake"):
            files = sorted((root / split / label).iterdir())
            assert len(files) == TINY.per_class(split)
            assert all(f.suffix == ".jpg" for f in files)
    card = (demo_dir / "README.md").read_text()
    assert "not a face-forensics benchmark" in card
    assert "| train | 4 | 4 |" in card
    assert not list(demo_dir.glob(".*partial"))


def test_same_seed_gives_identical_bytes_and_other_seed_differs(demo_dir: Path, tmp_path: Path) -> None:
    again = write_demo_dataset(tmp_path / "again", TINY)
    assert _digest(again) == _digest(demo_dir)
    other = write_demo_dataset(tmp_path / "other", TINY, seed=1)
    first, second = _digest(demo_dir / KAGGLE_SUBDIR), _digest(other / KAGGLE_SUBDIR)
    assert first.keys() == second.keys()
    assert all(first[name] != second[name] for name in first)


def test_generation_leaves_torch_state_alone(tmp_path: Path) -> None:
    threads = torch.get_num_threads()
    rng_state = torch.random.get_rng_state()
    write_demo_dataset(tmp_path, TINY, num_threads=2)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    assert not torch.are_deterministic_algorithms_enabled()


def _jpeg_signature(path: Path) -> tuple:
    with Image.open(path) as image:
        image.load()
        tables = tuple((key, tuple(table)) for key, table in sorted(image.quantization.items()))
        progressive = image.info.get("progressive", False)
        return image.format, image.mode, image.size, tables, image.layers, progressive


def test_both_classes_share_format_mode_size_and_jpeg_tables(demo_dir: Path) -> None:
    real = {_jpeg_signature(path) for path in _images(demo_dir, "real")}
    fake = {_jpeg_signature(path) for path in _images(demo_dir, "fake")}
    assert real == fake
    assert len(real) == 1
    image_format, mode, size, *_ = next(iter(real))
    assert (image_format, mode, size) == ("JPEG", "RGB", (32, 32))


def test_png_format_for_both_classes(tmp_path: Path) -> None:
    write_demo_dataset(tmp_path, TINY, image_format="png")
    signatures = set()
    for path in _images(tmp_path):
        assert path.suffix == ".png"
        with Image.open(path) as image:
            signatures.add((image.format, image.mode, image.size))
    assert signatures == {("PNG", "RGB", (32, 32))}


def test_generator_resynthesises_instead_of_copying() -> None:
    photos = load_source_photos()
    rng = np.random.default_rng(0)
    _, train_crops = draw_crops(photos, 8, 32, rng)
    _, sources = draw_crops(photos, 6, 32, rng)
    with deterministic_torch(seed=0, num_threads=1):
        model = train_generator(train_crops, steps=3, width=8)
        fakes = synthesize(model, sources)
    assert fakes.shape == sources.shape and fakes.dtype == np.uint8
    difference = np.abs(fakes.astype(np.float32) - sources.astype(np.float32))
    assert difference.mean() > 2.0
    # The generator keeps each image's mean colour: brightness must not give the label away.
    mean_shift = fakes.astype(np.float32).mean(axis=(1, 2)) - sources.astype(np.float32).mean(axis=(1, 2))
    assert np.abs(mean_shift).max() < 3.0


def test_matched_halves_are_disjoint_and_brightness_balanced() -> None:
    photos = load_source_photos()
    specs, crops = draw_crops(photos, 60, 32, np.random.default_rng(0), min_detail=5.0)
    first, second = matched_halves(specs, crops, np.random.default_rng(1))
    assert len(first) == len(second) == 30
    assert not set(first.tolist()) & set(second.tolist())
    assert len(set(specs)) == len(specs)  # every image is its own draw
    brightness = crops.reshape(len(crops), -1).mean(axis=1)
    assert abs(brightness[first].mean() - brightness[second].mean()) < 3.0
    assert sorted(specs[i].photo for i in first) == sorted(specs[i].photo for i in second)


def test_existing_output_needs_overwrite(demo_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(AIDetectError, match="--overwrite"):
        write_demo_dataset(demo_dir, TINY)
    out = write_demo_dataset(tmp_path, TINY, train_per_class=1)
    write_demo_dataset(out, TINY, overwrite=True)
    assert len(_images(out)) == 2 * (4 + 2 + 3)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"image_size": 30}, "--image-size"),
        ({"valid_per_class": 0}, "--valid-per-class"),
        ({"image_format": "gif"}, "--format"),
        ({"quality": 0}, "--quality"),
        ({"min_crop_scale": 0.5}, "--min-crop-scale"),
        ({"not_an_option": 1}, "valid options"),
    ],
)
def test_bad_options_are_actionable(tmp_path: Path, override: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        write_demo_dataset(tmp_path, TINY, **override)
    assert not (tmp_path / "README.md").exists()


def test_cli_writes_dataset_and_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["demo-data", str(tmp_path), "--image-size", "32", "--train-per-class", "2"]
    args += ["--valid-per-class", "1", "--test-per-class", "1", "--generator-steps", "2"]
    args += ["--generator-crops", "4", "--generator-width", "8", "--num-threads", "1"]
    assert main(args) == 0
    assert len(_images(tmp_path)) == 2 * (2 + 1 + 1)
    assert main(args) == 2  # exists: one-line error, no traceback
    assert "--overwrite" in capsys.readouterr().err
    bad_size = [("30" if item == "32" else item) for item in args]  # a flag given twice is a usage error
    assert main([*bad_size, "--overwrite"]) == 2


def test_load_detection_dataset_maps_real_to_0_and_fake_to_1(demo_dir: Path) -> None:
    from datasets import Image as ImageFeature

    from hf_aidetect.data import load_detection_dataset

    splits = load_detection_dataset(demo_dir)
    assert sorted(splits) == ["test", "train", "validation"]
    expected = {"train": 4, "validation": 2, "test": 3}
    for name, split in splits.items():
        assert split.features["label"].names == ["real", "fake"]
        rows = split.cast_column("image", ImageFeature(decode=False))
        labels = [("fake" if "/fake/" in row["image"]["path"] else "real", row["label"]) for row in rows]
        assert {pair for pair in labels} == {("real", 0), ("fake", 1)}
        assert len(labels) == 2 * expected[name]
