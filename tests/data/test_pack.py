"""``hf-aidetect pack``: shards with the loader's splits and report, original bytes, atomic and resumable."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest

from hf_aidetect.cli import main
from hf_aidetect.data import load_detection_dataset
from hf_aidetect.data.pack import PackOptions, pack_dataset, parse_size
from hf_aidetect.data.pack import writer as pack_writer
from hf_aidetect.errors import ConfigError, DatasetLayoutError
from tests.training.conftest import write_tiny_dataset

SMALL = 6_000  # bytes per shard: several shards from a few dozen 32 px PNGs


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    counts = {
        "train": {"real": 12, "fake": 12},
        "valid": {"real": 4, "fake": 4},
        "test": {"real": 4, "fake": 4},
    }
    root = write_tiny_dataset(tmp_path / "data", counts, seed=4)
    generator = root / "train" / "fake" / "stylegan2"  # a generator sub-folder: the `source` column
    generator.mkdir()
    for index in range(3):
        (root / "train" / "fake" / f"{index:03d}.png").rename(generator / f"{index:03d}.png")
    (root / "train" / "real" / "truncated.png").write_bytes(
        (root / "test" / "real" / "000.png").read_bytes()[:60]
    )
    return root


def _manifest(out: Path) -> dict:
    return json.loads((out / "hf_aidetect_pack.json").read_text())


def _shard_bytes(out: Path) -> dict[str, bytes]:
    shards = sorted(path for path in (out / "data").glob("*.parquet") if not path.name.startswith("."))
    return {path.name: path.read_bytes() for path in shards}


def test_pack_writes_the_loaders_splits_with_original_bytes(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "shards"
    result = pack_dataset(folder, out, PackOptions(shard_size=SMALL, num_workers=1), progress=False)
    _, report = load_detection_dataset(folder, return_report=True)
    manifest = _manifest(out)
    assert manifest["complete"] and manifest["bad_images"] == [
        {"path": bad.path, "reason": bad.reason} for bad in report.bad_images
    ]  # the loader's report, word for word
    assert "truncated.png" in manifest["bad_images"][0]["path"]
    assert manifest["splits"]["train"]["counts"] == {"real": 12, "fake": 12}
    assert manifest["splits"]["train"]["sources"] == {"": 21, "stylegan2": 3}
    assert len(manifest["splits"]["train"]["shards"]) > 1 and result.written == len(result.plan.shards)

    packed = datasets.load_dataset(str(out))  # the card's `configs` name each split's shards
    assert {name: len(split) for name, split in packed.items()} == {"train": 24, "validation": 8, "test": 8}
    rows = packed.cast_column("image", datasets.Image(decode=False))
    ids = sorted(i for split in rows.values() for i in split["id"])
    assert ids == list(range(40))
    for row in rows["train"]:
        source = folder / row["image"]["path"]  # relative to the data root
        assert row["image"]["bytes"] == source.read_bytes()  # no re-encoding
        assert row["label"] == (1 if "/fake/" in f"/{row['image']['path']}" else 0)
        assert row["source"] == ("stylegan2" if "stylegan2" in row["image"]["path"] else "")
    first_train = [row["label"] for row in rows["train"]][:12]
    assert 0 < sum(first_train) < 12  # rows are shuffled before sharding: shards mix the classes
    for shard in manifest["splits"]["train"]["shards"]:
        assert pq.ParquetFile(out / shard["file"]).metadata.num_rows == shard["num_rows"]
        assert shard["num_bytes"] <= SMALL or shard["num_rows"] == 1


def test_class_folders_get_carved_splits(tmp_path: Path) -> None:
    root = write_tiny_dataset(tmp_path / "classes", {".": {"real": 20, "fake": 20}})
    result = pack_dataset(root, tmp_path / "out", PackOptions(num_workers=1), progress=False)
    assert result.report.carved_splits == ["validation", "test"]
    assert {s: info["num_rows"] for s, info in result.plan.splits.items()} == {
        "train": 32,
        "validation": 4,
        "test": 4,
    }


def test_a_stopped_pack_resumes_to_the_same_shards(folder: Path, tmp_path: Path, monkeypatch) -> None:
    options = PackOptions(shard_size=SMALL, num_workers=1)
    pack_dataset(folder, tmp_path / "reference", options, progress=False)

    out = tmp_path / "stopped"
    real_write = pack_writer._write_one
    calls = {"n": 0}

    def dies_on_the_third_shard(shard):
        calls["n"] += 1
        if calls["n"] == 3:
            temporary = out / "data" / f".{Path(shard.file).name}-dead.partial.parquet"
            temporary.write_bytes(b"half a shard")  # what a kill mid-write leaves
            raise KeyboardInterrupt
        return real_write(shard)

    monkeypatch.setattr(pack_writer, "_write_one", dies_on_the_third_shard)
    with pytest.raises(KeyboardInterrupt):
        pack_dataset(folder, out, options, progress=False)
    assert not _manifest(out)["complete"] and len(_shard_bytes(out)) == 2
    monkeypatch.setattr(pack_writer, "_write_one", real_write)

    result = pack_dataset(folder, out, options, progress=False)
    assert result.kept == 2 and result.written == len(result.plan.shards) - 2
    assert _shard_bytes(out) == _shard_bytes(tmp_path / "reference")
    assert not list((out / "data").glob(".*")) and _manifest(out)["complete"]


def test_parallel_pack_equals_serial(folder: Path, tmp_path: Path) -> None:
    pack_dataset(folder, tmp_path / "one", PackOptions(shard_size=SMALL, num_workers=1), progress=False)
    pack_dataset(folder, tmp_path / "two", PackOptions(shard_size=SMALL, num_workers=2), progress=False)
    assert _shard_bytes(tmp_path / "one") == _shard_bytes(tmp_path / "two")


def test_pack_refuses_other_data_unless_overwrite(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "shards"
    pack_dataset(folder, out, PackOptions(num_workers=1), progress=False)
    with pytest.raises(ConfigError, match="--overwrite"):
        pack_dataset(folder, out, PackOptions(seed=7, num_workers=1), progress=False)
    result = pack_dataset(folder, out, PackOptions(seed=7, num_workers=1), overwrite=True, progress=False)
    assert result.kept == 0 and _manifest(out)["options"]["seed"] == 7
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    with pytest.raises(DatasetLayoutError, match="holds no pack"):
        pack_dataset(folder, stranger, PackOptions(num_workers=1), overwrite=True, progress=False)
    assert (stranger / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("text", "size"), [("500MB", 500 * 10**6), ("1.5GB", 15 * 10**8), ("256MiB", 256 * 2**20), ("4096", 4096)]
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_cli_packs_and_reports_bad_sizes(folder: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli"
    assert main(["pack", str(folder), "--out", str(out), "--shard-size", "6KB", "--no-progress"]) == 0
    assert _manifest(out)["complete"]
    assert main(["pack", str(folder), "--out", str(out), "--shard-size", "big"]) == 2
    assert "--shard-size 'big'" in capsys.readouterr().err
