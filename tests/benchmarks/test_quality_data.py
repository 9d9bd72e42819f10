"""The quality suite's dataset generators (benchmarks/quality): determinism, sizes, matched classes, layout.

Tiny specs (32 px, a few images, a few generator steps) keep this offline and fast; no detector trains.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from benchmarks.quality import families
from benchmarks.quality.matching import assign_matched, block_pattern
from benchmarks.quality.photos import SUITE_PHOTOS, load_suite_photos
from benchmarks.quality.specs import CHECK_SETS, DEFAULT_SUITE, SUITE, DatasetSpec, quick_variant, role
from benchmarks.quality.views import families_in, flat_view, leave_family_out, splits_root
from benchmarks.quality.writer import MANIFEST, build_dataset, dataset_key
from hf_aidetect.data.demo.generator import deterministic_torch
from hf_aidetect.data.demo.sources import draw_crops

TINY = DatasetSpec(
    "tiny", 32, ("transposed_conv", "denoiser"), train_per_class=8, valid_per_class=4, test_per_class=4,
    test_per_family=4, generator_steps=3, generator_crops=8, min_detail=0.0,
)  # fmt: skip
SINGLE = DatasetSpec(
    "single", 32, ("nearest_conv",), train_per_class=60, valid_per_class=10, test_per_class=10,
    generator_steps=3, generator_crops=8, min_detail=0.0,
)  # fmt: skip


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "spec.json"  # spec.json records the generation time
    }


def _manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / MANIFEST).open() as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset(TINY, 0, tmp_path_factory.mktemp("quality_cache"))


@pytest.fixture(scope="session")
def single_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset(SINGLE, 0, tmp_path_factory.mktemp("quality_single"))


def test_suite_covers_the_issue():
    specs = [SUITE[name] for name in DEFAULT_SUITE]
    assert {f for s in SUITE.values() for f in s.families} == set(families.FAMILIES)
    assert {s.size for s in specs} == {128, 256}
    assert all(s.image_format == "jpg" and s.quality_range == (70, 95) for s in specs)
    assert len(SUITE["cross128"].families) == 5 and SUITE["cross128"].test_per_family > 0
    quick = quick_variant(SUITE["tconv128"])
    assert quick.size == 128 and quick.train_per_class < 100


def test_check_sets_differ_from_the_suite_in_size_factor_or_compression():
    assert not set(CHECK_SETS) & set(DEFAULT_SUITE)
    checks = [SUITE[name] for name in CHECK_SETS]
    assert {s.size for s in checks} - {128, 256}  # a native size the defaults were not chosen at
    assert any(families.family(f).factor == 4 for s in checks for f in s.families)
    assert any(s.quality_range[0] < 70 for s in checks)
    assert [role(n) for n in ("tconv128", "tconv64", "tconv128_png")] == ["suite", "check", "extra"]


def test_photos_ship_in_the_wheel_and_differ_from_the_demo():
    photos = load_suite_photos()
    assert [p.name for p in photos] == list(SUITE_PHOTOS)
    assert not {"china.jpg", "flower.jpg", "grace_hopper.jpg"} & set(SUITE_PHOTOS)
    assert all(
        p.pixels.ndim == 3 and p.pixels.shape[2] == 3 and min(p.pixels.shape[:2]) >= 300 for p in photos
    )


def test_same_seed_same_bytes_other_seed_differs(tiny_dir: Path, tmp_path: Path):
    again = build_dataset(TINY, 0, tmp_path / "a")
    assert again != tiny_dir and _digest(again) == _digest(tiny_dir)
    other = build_dataset(TINY, 1, tmp_path / "b")
    assert _digest(other) != _digest(tiny_dir)


def test_cached_dataset_is_reused_and_partial_folders_are_not(tiny_dir: Path):
    assert build_dataset(TINY, 0, tiny_dir.parent) == tiny_dir
    assert tiny_dir.name == dataset_key(TINY, 0)
    assert not [p for p in tiny_dir.parent.iterdir() if p.name.endswith(".partial")]


@pytest.mark.parametrize("name", sorted(families.FAMILIES))
def test_each_family_resynthesises_at_the_right_size(name: str):
    photos = load_suite_photos()
    _, crops = draw_crops(photos, 6, 48, np.random.default_rng(0), min_scale=1.5)
    with deterministic_torch(0, 1):
        model = families.train_family(name, crops, steps=2, patch_size=16)
        fakes = families.synthesize(name, model, crops)
    assert fakes.shape == crops.shape and fakes.dtype == np.uint8
    assert not np.array_equal(fakes, crops)
    assert np.abs(fakes.astype(int) - crops.astype(int)).mean() > 1.0
    # per-channel means are pinned to the input's: brightness carries no label
    assert np.abs(fakes.mean(axis=(1, 2)) - crops.mean(axis=(1, 2))).max() < 8.0


def test_layout_sizes_and_manifest(tiny_dir: Path):
    from PIL import Image

    root = splits_root(tiny_dir)
    assert sorted(p.name for p in root.iterdir()) == ["test", "train", "valid"]
    assert families_in(tiny_dir) == sorted(TINY.families)
    rows = _manifest(tiny_dir)
    assert len(rows) == sum(sum(TINY.counts(s).values()) for s in ("train", "valid", "test"))
    for row in rows[:: max(1, len(rows) // 10)]:
        with Image.open(tiny_dir / row["file"]) as image:
            assert image.size == (32, 32) and image.format == "JPEG"
    test_fakes = Counter(r["family"] for r in rows if r["split"] == "test" and r["label"] == "fake")
    assert test_fakes == {f: TINY.test_per_family for f in TINY.families}
    assert all(70 <= int(r["quality"]) <= 95 for r in rows)


def test_classes_share_quality_and_brightness_distributions(single_dir: Path):
    rows = _manifest(single_dir)
    for split in ("train", "valid", "test"):
        by_label = {
            lab: [r for r in rows if r["split"] == split and r["label"] == lab] for lab in ("real", "fake")
        }
        real_q, fake_q = ([int(r["quality"]) for r in by_label[lab]] for lab in ("real", "fake"))
        assert sorted(real_q) == sorted(fake_q)  # 1:1 blocks share one quality each
        photos = [Counter(r["photo"] for r in by_label[lab]) for lab in ("real", "fake")]
        assert sum((photos[0] - photos[1]).values()) <= len(by_label["real"]) // 4 + 1
    real_b = np.array([float(r["brightness"]) for r in rows if r["label"] == "real"])
    fake_b = np.array([float(r["brightness"]) for r in rows if r["label"] == "fake"])
    # neighbours by (photo, brightness) go to opposite classes, and fakes keep their crop's channel means
    assert abs(real_b.mean() - fake_b.mean()) < 4.0
    quartiles = np.percentile(real_b, [25, 50, 75]) - np.percentile(fake_b, [25, 50, 75])
    assert np.abs(quartiles).max() < 8.0


def test_matched_assignment_keeps_proportions_and_qualities():
    counts = {"real": 10, "a": 5, "b": 5}
    assert sorted(block_pattern(counts)) == ["a", "b", "real", "real"]
    photos = load_suite_photos()
    rng = np.random.default_rng(3)
    specs, crops = draw_crops(photos, 20, 16, rng)
    assignment = assign_matched(specs, crops, counts, rng, (70, 95))
    assert {label: len(assignment.indices(label)) for label in counts} == counts
    per_label = {label: Counter(assignment.quality[assignment.indices(label)].tolist()) for label in counts}
    assert per_label["a"] == per_label["b"]
    assert per_label["real"] == Counter({q: 2 * n for q, n in per_label["a"].items()})


def test_loader_reads_family_as_source(tiny_dir: Path):
    from hf_aidetect import load_detection_dataset

    dataset = load_detection_dataset(tiny_dir)
    test = dataset["test"]
    sources = Counter(zip(test["label"], test["source"]))
    assert sources[(0, "")] == TINY.test_per_class
    assert {s for (label, s) in sources if label == 1} == set(TINY.families)


def test_leave_family_out_view(tiny_dir: Path, tmp_path: Path):
    view = leave_family_out(tiny_dir, "denoiser", tmp_path / "view")
    root = splits_root(view)
    for split in ("train", "valid"):
        assert not (root / split / "fake" / "denoiser").exists()
        assert any((root / split / "fake" / "transposed_conv").iterdir())
        assert len(list((root / split / "real").iterdir())) == TINY.per_class(split)
    assert sorted(p.name for p in (root / "test" / "fake").iterdir()) == ["denoiser"]
    assert len(list((root / "test" / "fake" / "denoiser").iterdir())) == TINY.test_per_family
    with pytest.raises(ValueError, match="no fake/nope"):
        leave_family_out(tiny_dir, "nope", tmp_path / "bad")


def test_flat_view_for_imagefolder(tiny_dir: Path, tmp_path: Path):
    flat = flat_view(tiny_dir, tmp_path / "flat")
    for split in ("train", "valid", "test"):
        assert sorted(p.name for p in (flat / split).iterdir()) == ["fake", "real"]
        assert all(p.is_file() for p in (flat / split / "fake").iterdir())
    files = [p for p in flat.rglob("*") if p.is_file()]
    assert len(files) == len(_manifest(tiny_dir))
