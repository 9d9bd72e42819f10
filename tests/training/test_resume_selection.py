"""``--resume_from_checkpoint last`` takes the newest *complete* checkpoint, and a checkpoint folder appears
only when complete (issue 11, defect 3)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from transformers import Trainer

from hf_aidetect.cli import main as cli_main
from hf_aidetect.training.checkpoints import checkpoint_problems, find_resumable_checkpoint
from hf_aidetect.training.runner import build_trainer, resolve_resume, train
from hf_aidetect.training.trainer import DetectionTrainer
from tests.faults.conftest import assert_one_line_error
from tests.training.conftest import TINY_CNN, recipe_args, write_checkpoint


def _half_written_like_the_issue(output_dir: Path) -> None:
    """The two checkpoints of the bug report: a cut-off optimizer.pt without trainer_state.json, and one
    holding only the model's two .py files."""
    cut = write_checkpoint(output_dir / "checkpoint-4", step=4, skip=("trainer_state.json",))
    (cut / "optimizer.pt").write_bytes((cut / "optimizer.pt").read_bytes()[:40])
    only_code = output_dir / "checkpoint-6"
    only_code.mkdir()
    for name in ("configuration_seed_cnn.py", "modeling_seed_cnn.py"):
        (only_code / name).write_text("# code\n")
    (output_dir / ".checkpoint-8.partial").mkdir()


def test_last_skips_incomplete_checkpoints_and_says_why(tiny_data: Path, tmp_path: Path, caplog) -> None:
    out = tmp_path / "run"
    write_checkpoint(out / "checkpoint-2", step=2)
    _half_written_like_the_issue(out)
    _, training_args, _ = recipe_args(tiny_data, out, TINY_CNN, resume_from_checkpoint="last")
    with caplog.at_level(logging.WARNING, logger="hf_aidetect"):
        assert resolve_resume(training_args) == str(out / "checkpoint-2")
    text = caplog.text
    assert "checkpoint-6 (no trainer_state.json" in text and "no optimizer.pt" in text
    assert "checkpoint-4 (no trainer_state.json" in text and "optimizer.pt is cut off" in text
    assert ".checkpoint-8.partial (an interrupted save" in text


def test_no_complete_checkpoint_is_one_line(tiny_data: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    _half_written_like_the_issue(out)
    argv = ["train", "--model_type", "seed_cnn", "--dataset", str(tiny_data), "--output_dir", str(out)]
    assert cli_main([*argv, "--resume_from_checkpoint", "last"]) == 2
    assert_one_line_error(capsys.readouterr().err, "no complete checkpoint", "3 incomplete")
    assert cli_main([*argv, "--resume_from_checkpoint", str(out / "checkpoint-4")]) == 2
    assert_one_line_error(capsys.readouterr().err, "checkpoint-4 is incomplete", "no trainer_state.json")


def test_completeness_rules(tmp_path: Path) -> None:
    complete = write_checkpoint(tmp_path / "checkpoint-1")
    assert checkpoint_problems(complete) == []
    assert checkpoint_problems(complete, world_size=2) == ["no rng_state_0.pth", "no rng_state_1.pth"]
    weights = complete / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    assert any("model.safetensors is corrupt or incomplete" in p for p in checkpoint_problems(complete))
    only_model = write_checkpoint(tmp_path / "checkpoint-2", skip=("optimizer.pt", "scheduler.pt"))
    assert checkpoint_problems(only_model, needs_optimizer=False) == []
    assert find_resumable_checkpoint(tmp_path)[0] is None


def test_resume_last_after_an_old_style_half_written_checkpoint(tiny_data: Path, tmp_path: Path) -> None:
    """A real run, whose newest checkpoint is then damaged the way a kill during a stock save leaves it:
    the resume continues from the one before and finishes."""
    common = {"num_train_epochs": 2, "load_best_model_at_end": False, "save_total_limit": 3}
    out = tmp_path / "run"
    train(*recipe_args(tiny_data, out, TINY_CNN, **common))
    newest = out / "checkpoint-8"
    (newest / "trainer_state.json").unlink()
    (newest / "optimizer.pt").write_bytes((newest / "optimizer.pt").read_bytes()[:100])
    results = train(*recipe_args(tiny_data, out, TINY_CNN, resume_from_checkpoint="last", **common))
    assert results["train_global_batch_size"] == 8
    assert json.loads((out / "checkpoint-8" / "trainer_state.json").read_text())["global_step"] == 8


def test_a_checkpoint_appears_only_when_complete(tiny_data: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "run"
    seen = []
    original = DetectionTrainer._save_rng_state

    def save_rng_state(self, output_dir):
        seen.append((Path(output_dir).name, (out / f"checkpoint-{self.state.global_step}").exists()))
        if self.state.global_step == 8:
            raise RuntimeError("a bug while saving")  # not a write error: re-raised as it is
        return original(self, output_dir)

    monkeypatch.setattr(DetectionTrainer, "_save_rng_state", save_rng_state)
    with pytest.raises(RuntimeError, match="a bug while saving"):
        train(*recipe_args(tiny_data, out, TINY_CNN, num_train_epochs=2, save_total_limit=3))
    assert seen == [(".checkpoint-4.partial", False), (".checkpoint-8.partial", False)]
    assert (out / "checkpoint-4").is_dir() and not (out / "checkpoint-8").exists()
    assert not list(out.glob(".checkpoint-*"))


def test_checkpoint_files_match_the_stock_trainer(tiny_data: Path, tmp_path: Path) -> None:
    """Our staged save writes what Trainer._save_checkpoint writes (guards against transformers drift)."""
    ours = tmp_path / "ours"
    trainer = build_trainer(
        *recipe_args(tiny_data, ours, TINY_CNN, max_steps=2, save_strategy="no", eval_strategy="no")
    ).trainer
    trainer.train()
    trainer.state.best_global_step = 2  # exercise the best-checkpoint bookkeeping too
    trainer.args.save_strategy = "steps"
    trainer._save_checkpoint(trainer.model, None)
    stock = tmp_path / "stock"
    trainer.args.output_dir = str(stock)
    trainer.state.best_model_checkpoint = None
    Trainer._save_checkpoint(trainer, trainer.model, None)
    names = [sorted(path.name for path in (folder / "checkpoint-2").iterdir()) for folder in (ours, stock)]
    assert names[0] == names[1] and "trainer_state.json" in names[0] and "optimizer.pt" in names[0]
    states = [
        json.loads((folder / "checkpoint-2" / "trainer_state.json").read_text()) for folder in (ours, stock)
    ]
    assert Path(states[0].pop("best_model_checkpoint")) == ours / "checkpoint-2"
    assert Path(states[1].pop("best_model_checkpoint")) == stock / "checkpoint-2"
    assert states[0] == states[1]
    for name in ("model.safetensors",):
        left = (ours / "checkpoint-2" / name).read_bytes()
        assert left == (stock / "checkpoint-2" / name).read_bytes()
    assert torch.load(ours / "checkpoint-2" / "scheduler.pt") == torch.load(
        stock / "checkpoint-2" / "scheduler.pt"
    )
