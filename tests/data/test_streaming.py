"""Streamed sources and the train stream: label rules, sample ids, exact state, node split, same transform."""

from __future__ import annotations

import io
import logging
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import ClassLabel, Dataset, Features, Value
from datasets import Image as ImageFeature
from PIL import Image

from hf_aidetect.data.preprocessing import AugmentConfig, InputSpec, create_transforms
from hf_aidetect.data.streaming import StreamingSplit, normalise_stream, open_stream_source
from hf_aidetect.data.streaming.rows import hashed_id
from hf_aidetect.errors import DatasetLayoutError


def _jpeg(rng: np.random.Generator, side: int = 36) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _table(n: int, labels: list, label_feature, seed: int = 0, ids: bool = True) -> Dataset:
    rng = np.random.default_rng(seed)
    data = {"image": [{"bytes": _jpeg(rng), "path": f"{i}.jpg"} for i in range(n)], "label": labels}
    features = {"image": ImageFeature(), "label": label_feature}
    if ids:
        data["id"] = list(range(100, 100 + n))
        features["id"] = Value("int64")
    return Dataset.from_dict(data, features=Features(features))


def _rows(dataset: Dataset, shards: int = 4, **kwargs):
    stream = dataset.to_iterable_dataset(num_shards=min(shards, len(dataset)))
    return normalise_stream(stream, origin="the test stream", **kwargs)


def test_labels_map_by_name_and_alias_and_ids_come_from_the_id_column() -> None:
    reversed_names = ClassLabel(names=["fake", "real"])  # imagefolder's order: must still give real = 0
    rows = list(_rows(_table(6, [0, 1, 0, 1, 0, 1], reversed_names)))
    assert [r["label"] for r in rows] == [1, 0, 1, 0, 1, 0]
    assert [r["sample_id"] for r in rows] == list(range(100, 106))
    words = list(_rows(_table(4, ["REAL", "ai", "human", "Synthetic"], Value("string"))))
    assert [r["label"] for r in words] == [0, 1, 0, 1]
    assert set(words[0]) == {"image", "label", "source", "sample_id"} and words[0]["image"]["bytes"]


def test_unknown_labels_and_missing_columns_are_errors_that_name_the_fix() -> None:
    with pytest.raises(DatasetLayoutError, match="unknown label value\\(s\\) \\['cat'\\]"):
        list(_rows(_table(2, ["real", "cat"], Value("string"))))
    with pytest.raises(DatasetLayoutError, match="unknown label value\\(s\\) \\['dog'\\]"):
        _rows(_table(2, [0, 1], ClassLabel(names=["real", "dog"])))
    with pytest.raises(DatasetLayoutError, match="--label_column"):
        _rows(_table(2, [0, 1], Value("int64")), label_column="target")


def test_content_hash_ids_do_not_depend_on_sharding() -> None:
    dataset = _table(8, [0, 1] * 4, Value("int64"), ids=False)
    one = sorted(r["sample_id"] for r in _rows(dataset, shards=1))
    four = sorted(r["sample_id"] for r in _rows(dataset, shards=4))
    assert one == four and len(set(one)) == 8 and all(0 <= i < 2**63 for i in one)


def _webdataset(folder: Path, shards: int = 2, per_shard: int = 6) -> Path:
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True)
    for shard in range(shards):
        with tarfile.open(folder / f"train-{shard:04d}.tar", "w") as tar:
            for i in range(per_shard):
                for ext, data in (("jpg", _jpeg(rng)), ("cls", str(i % 2).encode())):
                    info = tarfile.TarInfo(f"s{shard}_{i:03d}.{ext}")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    return folder


def test_webdataset_tars_stream_with_their_image_column_and_key_ids(tmp_path: Path, caplog) -> None:
    source = open_stream_source(_webdataset(tmp_path / "wds"))
    assert source.builder == "webdataset" and source.splits == ["train"]
    with caplog.at_level(logging.INFO, logger="hf_aidetect"):
        rows = list(normalise_stream(source.stream("train"), label_column="cls", origin="wds"))
    assert "using its image column 'jpg'" in caplog.text and "a webdataset hash" in caplog.text
    assert [r["label"] for r in rows] == [0, 1] * 6
    assert rows[0]["sample_id"] == hashed_id("train-0000.tar", "s0_000")  # file name + key: path-independent


def test_save_to_disk_folders_and_shard_globs_stream(tmp_path: Path) -> None:
    dataset = _table(6, [0, 1] * 3, ClassLabel(names=["real", "fake"]))
    dataset.save_to_disk(tmp_path / "saved")
    saved = open_stream_source(tmp_path / "saved")
    assert saved.splits == ["train"] and sorted(r["id"] for r in saved.stream("train")) == list(
        range(100, 106)
    )
    dataset.to_parquet(tmp_path / "part-0.parquet")
    globbed = open_stream_source(str(tmp_path / "part-*.parquet"))
    assert globbed.builder == "parquet" and len(list(globbed.stream("train"))) == 6
    with pytest.raises(DatasetLayoutError, match="does not exist"):
        open_stream_source(tmp_path / "missing" / "dir")


# -- StreamingSplit ------------------------------------------------------------------------------------


def _split(n: int = 40, shards: int = 4, buffer: int = 8, seed: int = 0) -> StreamingSplit:
    rows = _rows(_table(n, [i % 2 for i in range(n)], Value("int64")), shards=shards)
    return StreamingSplit(rows, seed=seed, shuffle_buffer=buffer)


def _take(split: StreamingSplit, count: int) -> tuple[list[tuple[int, int]], list[dict]]:
    seen, states = [], []
    iterator = iter(split)
    for _ in range(count):
        row = next(iterator)
        seen.append((row["epoch"], row["sample_id"]))
        states.append(split.state_dict())
    return seen, states


def test_passes_cover_every_row_once_and_reshuffle() -> None:
    seen, _ = _take(_split(), 120)
    passes = [[i for epoch, i in seen if epoch == p] for p in range(3)]
    assert all(sorted(p) == list(range(100, 140)) for p in passes)
    assert passes[0] != passes[1] != passes[2]  # shard order and block order change every pass
    assert passes[0] != sorted(passes[0])  # the block shuffle does shuffle


@pytest.mark.parametrize("cut", [1, 7, 8, 39, 40, 41, 63])  # in / at the edge of blocks and passes
def test_a_stream_restored_from_any_state_continues_exactly(cut: int) -> None:
    expected, states = _take(_split(), 80)
    restored = _split()
    restored.load_state_dict(states[cut - 1])
    rest, _ = _take(restored, 80 - cut)
    assert rest == expected[cut:]


def _keep_rows(rows: list[dict]) -> list[dict]:
    return rows


def test_loader_workers_at_different_passes_each_cover_their_shards() -> None:
    # 3 uneven shards over 2 workers: one worker's passes are twice as long as the other's, so the two are
    # at different passes at the same time (each must keep its own epoch: datasets shares one by default).
    split = _split(n=40, shards=3)
    loader = torch.utils.data.DataLoader(split, batch_size=4, num_workers=2, collate_fn=_keep_rows)
    rows = [row for batch, _ in zip(loader, range(60)) for row in batch]
    for stream_pass in range(3):
        ids = sorted(row["sample_id"] for row in rows if row["epoch"] == stream_pass)
        assert ids == list(range(100, 140)), stream_pass


def test_each_copy_of_a_stream_keeps_its_own_epoch() -> None:
    # datasets holds the epoch in a shared-memory tensor, inherited by every forked loader worker: two
    # workers at different passes raced on it (seen as a negative epoch). A stream's rows use a plain int.
    split = _split()
    shared = split.rows._epoch
    assert isinstance(shared, torch.Tensor) and shared.is_shared()
    _take(split, 50)  # into the second pass
    assert isinstance(split.rows._epoch, int) and int(shared) == 0


def test_nodes_get_disjoint_shards_that_cover_the_data(caplog) -> None:
    ranks = [_split(shards=4).for_node(rank, 2) for rank in range(2)]
    firsts = [{i for _, i in _take(split, 20)[0]} for split in ranks]
    assert not firsts[0] & firsts[1] and firsts[0] | firsts[1] == set(range(100, 140))
    with caplog.at_level(logging.WARNING):
        odd = [_split(shards=2).for_node(rank, 3) for rank in range(3)]  # fewer shards than ranks
    assert "keeps 1 row in 3" in caplog.text
    rows = [{i for _, i in _take(split, 13)[0]} for split in odd]
    assert not (rows[0] & rows[1] or rows[1] & rows[2] or rows[0] & rows[2])


def test_the_collator_uses_the_map_style_transform_with_stream_keys() -> None:
    transforms = create_transforms(InputSpec(size=24), augment=AugmentConfig(jpeg_prob=0.5), seed=3)
    split = _split(n=8, shards=1, buffer=0).with_transform(transforms.train)
    rows = [row for row, _ in zip(split, range(8))]
    batch = split.collator()(rows)
    keys = (np.array([r["epoch"] for r in rows]), np.array([r["sample_id"] for r in rows]))
    direct = transforms.train(
        {"image": [r["image"] for r in rows], "label": [r["label"] for r in rows]}, keys
    )
    assert torch.equal(batch["pixel_values"], direct["pixel_values"])
    assert batch["sample_ids"].tolist() == keys[1].tolist() and batch["labels"].tolist() == [0, 1] * 4
    without_ids = split.collator(sample_ids=False)(rows)  # what a run without --log_sample_ids loads
    assert "sample_ids" not in without_ids
    assert torch.equal(without_ids["pixel_values"], direct["pixel_values"])


def test_the_collator_drops_undecodable_images(caplog) -> None:
    transforms = create_transforms(InputSpec(size=24), seed=0)
    split = _split(n=4, shards=1, buffer=0).with_transform(transforms.train)
    rows = [row for row, _ in zip(split, range(4))]
    rows[1] = {**rows[1], "image": {"bytes": b"not an image", "path": None}}
    with caplog.at_level(logging.WARNING):
        batch = split.collator()(rows)
    assert batch["sample_ids"].tolist() == [rows[0]["sample_id"], rows[2]["sample_id"], rows[3]["sample_id"]]
    assert f"Dropped stream sample {rows[1]['sample_id']}" in caplog.text


def test_worker_loaders_resume_exactly_between_two_snapshots() -> None:
    # Workers send their positions every `snapshot_every_n_steps` batches (training.stream_state): a state
    # taken between two snapshots replays the batches since the last one and continues the same stream.
    from torchdata.stateful_dataloader import StatefulDataLoader

    def loader() -> StatefulDataLoader:
        return StatefulDataLoader(
            _split(), batch_size=4, num_workers=2, collate_fn=_keep_rows, snapshot_every_n_steps=4
        )

    def ids(batch: list[dict]) -> list[tuple[int, int]]:
        return [(row["epoch"], row["sample_id"]) for row in batch]

    expected = [ids(batch) for batch, _ in zip(loader(), range(16))]  # 64 rows: into the second pass
    interrupted = loader()
    batches = iter(interrupted)
    for _ in range(6):  # 6 = a snapshot at 4 + 2 batches
        next(batches)
    state = interrupted.state_dict()
    del batches
    resumed = loader()
    resumed.load_state_dict(state)
    assert [ids(batch) for batch, _ in zip(resumed, range(10))] == expected[6:]
