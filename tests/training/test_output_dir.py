"""``train`` never silently replaces a previous model (issue 11, defect 5): a folder holding a trained model
is refused, before any data or model is loaded, unless the run resumes it or --overwrite_output_dir says so
(the transformers convention)."""

from __future__ import annotations

import json
from pathlib import Path

from hf_aidetect.cli import main as cli_main
from tests.faults.conftest import assert_one_line_error, assert_unchanged, snapshot
from tests.training.conftest import TINY_CNN, write_checkpoint


def _argv(data: Path, out: Path, *extra: str) -> list[str]:
    return [
        "train", "--model_type", "seed_cnn", "--image_size", "32",
        "--config_overrides", json.dumps(TINY_CNN["config_overrides"]),
        "--dataset", str(data), "--output_dir", str(out), "--per_device_train_batch_size", "8",
        "--disable_tqdm", "true", "--write_model_card", "false", "--evaluation_report", "false",
        "--validate_images", "false", "--dataloader_num_workers", "0", "--augment", "false", *extra,
    ]  # fmt: skip


def test_a_trained_model_is_not_replaced_silently(tiny_data: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert cli_main(_argv(tiny_data, out, "--num_train_epochs", "2", "--save_total_limit", "3")) == 0
    before = snapshot(out)
    # The refusal comes before the data loads: a dataset that does not exist is never looked at.
    assert cli_main(_argv(tmp_path / "no-such-data", out)) == 2
    assert_one_line_error(
        capsys.readouterr().err, str(out), "already holds a trained model", "--overwrite_output_dir"
    )
    assert_unchanged(before, out)
    # Replacing it on purpose: the old run's checkpoints go with it, so `last` never mixes two runs.
    assert cli_main(_argv(tiny_data, out, "--max_steps", "2", "--overwrite_output_dir", "true")) == 0
    assert sorted(path.name for path in out.glob("checkpoint-*")) == ["checkpoint-2"]
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 2


def test_what_counts_as_a_trained_model(tiny_data: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "train.log").write_text("a sweep's log\n")  # not ours to protect, not a model
    (out / ".checkpoint-4.partial").mkdir()  # a save that never finished
    (out / "checkpoint-4").mkdir()  # an empty (half-written) checkpoint: nothing to resume
    assert cli_main(_argv(tiny_data, out, "--max_steps", "2")) == 0
    assert (out / "train.log").read_text() == "a sweep's log\n"
    write_checkpoint(tmp_path / "other" / "checkpoint-2")  # a complete checkpoint alone is a model
    assert cli_main(_argv(tmp_path / "no-such-data", tmp_path / "other")) == 2
    assert_one_line_error(capsys.readouterr().err, "checkpoint-2", "--resume_from_checkpoint last")


def test_a_resume_is_allowed(tiny_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert cli_main(_argv(tiny_data, out, "--max_steps", "4", "--save_steps", "2", "--save_strategy", "steps",
                          "--eval_strategy", "steps", "--eval_steps", "2")) == 0  # fmt: skip
    resumed = _argv(tiny_data, out, "--max_steps", "6", "--save_steps", "2", "--save_strategy", "steps")
    resumed += ["--eval_strategy", "steps", "--eval_steps", "2", "--resume_from_checkpoint", "last"]
    assert cli_main(resumed) == 0
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 6
