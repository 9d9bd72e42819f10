"""``hf-aidetect pack --push-to-hub`` to the local Hub, then streamed training from that Hub dataset id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hf_aidetect.data.pack import PackOptions, pack_dataset
from hf_aidetect.errors import DatasetLayoutError
from hf_aidetect.publishing.dataset_push import push_pack
from tests.publishing.conftest import client_env, run_cli, run_python
from tests.training.conftest import FAST, TINY_CNN, write_tiny_dataset

REPO_ID = "testuser/faces-shards"


def _folder(tmp_path: Path) -> Path:
    counts = {
        "train": {"real": 12, "fake": 12},
        "valid": {"real": 4, "fake": 4},
        "test": {"real": 4, "fake": 4},
    }
    return write_tiny_dataset(tmp_path / "faces", counts, seed=5)


@pytest.mark.slow
def test_pack_pushes_a_dataset_repo_that_streams_and_trains(hub, tmp_path: Path) -> None:
    env = client_env(hub, tmp_path / "home", HF_HUB_DISABLE_XET="1")
    shards = tmp_path / "shards"
    args = ["pack", str(_folder(tmp_path)), "--out", str(shards), "--shard-size", "4KB", "--no-progress"]
    done = run_cli([*args, "--push-to-hub", REPO_ID, "--private"], env)
    assert done.returncode == 0, done.stderr[-3000:]

    repo = hub.store.repos[f"datasets/{REPO_ID}"]
    files = set(repo.commits[repo.branches["main"]].tree)
    manifest = json.loads((shards / "hf_aidetect_pack.json").read_text())
    listed = {s["file"] for info in manifest["splits"].values() for s in info["shards"]}
    assert {"README.md", "hf_aidetect_pack.json"} | listed <= files
    assert len([name for name in listed if name.startswith("data/train-")]) > 1 and repo.private

    # Stream it back by id: rows, labels and ids as packed, read through datasets' Hub streaming.
    code = f"""
import json
from hf_aidetect.data.streaming import open_stream_source, normalise_stream
source = open_stream_source({REPO_ID!r})
rows = normalise_stream(source.stream("train"), origin=source.where("train"))
seen = [(row["sample_id"], row["label"]) for row in rows]
print("RESULT" + json.dumps({{"splits": source.splits, "rows": seen, "counts": source.counts("train")}}))
"""
    read = run_python(code, env)
    assert read.returncode == 0, read.stderr[-3000:]
    result = json.loads(read.stdout.split("RESULT", 1)[1])
    assert result["splits"] == ["train", "validation", "test"]
    assert sorted(i for i, _ in result["rows"]) == list(range(24))
    assert result["counts"] == {"real": 12, "fake": 12}  # the manifest, downloaded from the Hub

    recipe = tmp_path / "stream.yaml"
    streamed = {**TINY_CNN, **FAST, "streaming": True, "max_steps": 3, "log_sample_ids": True}
    recipe.write_text(yaml.safe_dump(streamed), encoding="utf-8")
    out = tmp_path / "run"
    trained = run_cli(["train", "--config", str(recipe), "--dataset", REPO_ID, "--output_dir", str(out)], env)
    assert trained.returncode == 0, trained.stderr[-3000:]
    results = json.loads((out / "all_results.json").read_text())
    assert results["test_num_samples"] == 8 and (out / "sample_ids" / "rank-0.jsonl").is_file()


def test_push_refuses_an_unfinished_pack(tmp_path: Path) -> None:
    shards = tmp_path / "shards"
    pack_dataset(_folder(tmp_path), shards, PackOptions(num_workers=1), progress=False)
    manifest = shards / "hf_aidetect_pack.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "complete": False}))
    with pytest.raises(DatasetLayoutError, match="unfinished"):  # before any request to a Hub
        push_pack(shards, REPO_ID, token="hf_unused")
