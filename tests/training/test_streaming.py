"""``--streaming``: a streamed train split through the same Trainer, resumed exactly mid-stream."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from hf_aidetect.errors import ConfigError, DatasetLayoutError
from hf_aidetect.training.acceleration import training_threads
from hf_aidetect.training.runner import build_trainer, train
from hf_aidetect.training.stream_state import read_sample_log
from tests.training.conftest import TINY_CNN, recipe_args

STREAM = {
    "streaming": True,
    "log_sample_ids": True,
    "shuffle_buffer": 16,  # blocks of 2 batches: a checkpoint at step 5 falls inside a block
    "eval_strategy": "no",
    "save_strategy": "steps",
    "save_steps": 5,
    "load_best_model_at_end": False,
    "save_total_limit": 5,
    "augment": True,
    "hflip_prob": 0.5,
    "jpeg_prob": 0.5,
    "blur_prob": 0.5,
}


def _ids(output_dir: Path) -> list[tuple[int, list[int]]]:
    return read_sample_log(output_dir / "sample_ids" / "rank-0.jsonl")


class _StopAtStep(TrainerCallback):
    """Ends the run at ``step``, after an earlier checkpoint: the work since is lost, as in a kill."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_training_stop = True
        return control


def test_streamed_run_writes_the_outputs(packed_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    report = {"evaluation_report": True, "robustness_samples": 0}
    args = recipe_args(packed_data, out, TINY_CNN, **STREAM, **report, max_steps=12, class_weights="auto")
    results = train(*args)
    logged = _ids(out)
    assert [step for step, _ in logged] == list(range(1, 13))
    assert all(len(ids) == 8 for _, ids in logged)  # every step a full batch, across the pass boundary
    first_pass = [i for _, ids in logged[:10] for i in ids]
    assert sorted(first_pass) == list(range(80))  # 80 train rows: each exactly once per pass
    assert results["validation_num_samples"] == 20 and results["test_num_samples"] == 20
    summary = json.loads((out / "data_summary.json").read_text())
    assert summary["counts"]["train"] == {"real": 40, "fake": 40}  # from the pack manifest
    assert summary["layout"] == "stream"
    state = json.loads((out / "checkpoint-10" / "stream_state-rank-0.json").read_text())
    assert state["global_step"] == 10 and state["world_size"] == 1
    assert "fake_threshold" in results and (out / "evaluation" / "metrics.json").is_file()


def test_epoch_strategies_become_steps(packed_data: Path, tmp_path: Path) -> None:
    from hf_aidetect.training.streaming import check_streaming_args

    script_args, training_args, _ = recipe_args(
        packed_data, tmp_path / "o", TINY_CNN, streaming=True, max_steps=40
    )
    check_streaming_args(script_args, training_args)
    assert (training_args.eval_strategy, training_args.save_strategy) == ("steps", "steps")
    assert training_args.eval_steps == training_args.save_steps == 0.1  # every 4 of the 40 steps


def _child_processes() -> set[int]:
    me, found = os.getpid(), set()
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and int(Path(f"/proc/{entry}/stat").read_text().split()[3]) == me:
                found.add(int(entry))
        except (OSError, IndexError, ValueError):
            pass  # gone meanwhile
    return found


@pytest.mark.parametrize("workers", [0, 2], ids=["main-process", "two-workers"])
def test_mid_stream_resume_sees_the_same_samples(packed_data: Path, tmp_path: Path, workers: int) -> None:
    # 80 rows / batch 8: a pass is 10 steps. Checkpoint at 5 (mid-block), stop at 7, resume, run to 14.
    common = {**STREAM, "max_steps": 14, "dataloader_num_workers": workers}
    before = _child_processes()
    train(*recipe_args(packed_data, tmp_path / "full", TINY_CNN, **common))
    assert _child_processes() <= before  # the endless stream's loader workers are shut down

    interrupted = tmp_path / "resumed"
    script_args, training_args, model_args = recipe_args(packed_data, interrupted, TINY_CNN, **common)
    trainer = build_trainer(script_args, training_args, model_args).trainer
    trainer.add_callback(_StopAtStep(7))
    with training_threads(training_args.torch_threads, workers, training_args.device):
        trainer.train()
    assert [step for step, _ in _ids(interrupted)][-1] == 7
    resume = {"resume_from_checkpoint": str(interrupted / "checkpoint-5")}
    train(*recipe_args(packed_data, interrupted, TINY_CNN, **resume, **common))

    assert _ids(interrupted) == _ids(tmp_path / "full")
    full, resumed = (
        load_file(str(tmp_path / "full" / "model.safetensors")),
        load_file(str(interrupted / "model.safetensors")),
    )
    assert all(torch.equal(full[name], resumed[name]) for name in full)


def test_stream_workers_send_their_positions_on_the_checkpoint_grid(packed_data: Path, tmp_path) -> None:
    from hf_aidetect.training.stream_state import SNAPSHOT_CAP, checkpoint_batches, snapshot_interval

    assert (snapshot_interval(10), snapshot_interval(1000), snapshot_interval(257)) == (10, 250, 1)
    assert snapshot_interval(None) == SNAPSHOT_CAP
    plain = {k: v for k, v in STREAM.items() if k not in ("log_sample_ids", "save_steps")}
    args = recipe_args(
        packed_data, tmp_path / "o", TINY_CNN, **plain, max_steps=40, save_steps=0.1,
        gradient_accumulation_steps=2, dataloader_num_workers=2,
    )  # fmt: skip
    trainer = build_trainer(*args).trainer
    assert checkpoint_batches(trainer.args) == 8  # 10 % of 40 steps x 2 batches per step
    loader = trainer.get_train_dataloader()
    try:
        assert loader.base_dataloader.snapshot_every_n_steps == 8
        assert "sample_ids" not in next(iter(loader))  # only --log_sample_ids ships them from the workers
    finally:
        trainer.stream.close()


def test_resume_with_other_workers_is_refused(packed_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(*recipe_args(packed_data, out, TINY_CNN, **STREAM, max_steps=5, dataloader_num_workers=0))
    again = recipe_args(
        packed_data, out, TINY_CNN, **STREAM, max_steps=8, dataloader_num_workers=2,
        resume_from_checkpoint=str(out / "checkpoint-5"),
    )  # fmt: skip
    with pytest.raises(ConfigError, match="1 process\\(es\\) x 0 loader worker"):
        train(*again)


def test_capped_streamed_evaluation_and_counting_pass(packed_data: Path, tmp_path: Path) -> None:
    bare = tmp_path / "no_manifest"
    shutil.copytree(packed_data, bare)
    (bare / "hf_aidetect_pack.json").unlink()  # no metadata: class_weights auto counts the labels
    out = tmp_path / "run"
    results = train(
        *recipe_args(bare, out, TINY_CNN, **STREAM, max_steps=2, max_eval_samples=12, class_weights="auto")
    )
    assert results["validation_num_samples"] == 12 and results["test_num_samples"] == 12
    assert json.loads((out / "data_summary.json").read_text())["counts"]["train"] == {"real": 40, "fake": 40}


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"max_steps": -1}, ConfigError, "--streaming needs --max_steps"),
        ({"max_steps": 2, "decode_cache": True}, ConfigError, "--decode_cache"),
        ({"max_steps": 2, "evaluate_train": True}, ConfigError, "--evaluate_train"),
        ({"max_steps": 2, "max_train_samples": 10}, ConfigError, "--max_train_samples"),
        ({"max_steps": 2, "shuffle_buffer": -1}, ConfigError, "--shuffle_buffer"),
    ],
)
def test_streaming_argument_errors(packed_data: Path, tmp_path: Path, overrides, error, match) -> None:
    with pytest.raises(error, match=match):
        train(*recipe_args(packed_data, tmp_path / "out", TINY_CNN, **{**STREAM, **overrides}))


def test_stream_options_need_streaming(tiny_data: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--log_sample_ids applies to streamed training"):
        recipe_args(tiny_data, tmp_path / "out", TINY_CNN, log_sample_ids=True)


def _as_shards(packed: Path, out: Path, suffix: str) -> Path:
    """The packed Parquet shards rewritten as Arrow IPC stream files or WebDataset tars (KEY.png, KEY.cls)."""
    import io
    import tarfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir()
    for shard in sorted((packed / "data").glob("*.parquet")):
        table = pq.read_table(shard)
        target = out / f"{shard.stem}.{suffix}"
        if suffix == "arrow":
            with pa.OSFile(str(target), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            continue
        with tarfile.open(target, "w") as tar:
            for row in table.to_pylist():
                for ext, data in (("png", row["image"]["bytes"]), ("cls", str(row["label"]).encode())):
                    member = tarfile.TarInfo(f"{row['id']:06d}.{ext}")
                    member.size = len(data)
                    tar.addfile(member, io.BytesIO(data))
    return out


@pytest.mark.parametrize("suffix", ["arrow", "tar"])
def test_arrow_and_webdataset_shards_train(packed_data: Path, tmp_path: Path, suffix: str) -> None:
    shards = _as_shards(packed_data, tmp_path / "shards", suffix)
    labels = {"label_column": "cls"} if suffix == "tar" else {}  # a tar's image column is found by type
    out = tmp_path / "run"
    results = train(*recipe_args(shards, out, TINY_CNN, **STREAM, **labels, max_steps=10))
    assert results["validation_num_samples"] == 20 and results["test_num_samples"] == 20
    seen = [i for _, ids in _ids(out) for i in ids]
    assert len(seen) == len(set(seen)) == 80  # one pass over the 80 train rows, each once
    if suffix == "arrow":
        assert sorted(seen) == list(range(80))  # the pack's `id` column


def test_image_folders_are_not_streamed(tiny_data: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetLayoutError, match="hf-aidetect pack"):
        train(*recipe_args(tiny_data, tmp_path / "out", TINY_CNN, **STREAM, max_steps=2))
