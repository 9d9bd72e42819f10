"""What a training run offers and says: early stopping, card options, a tracker, compact epoch lines, the
closing summary, the Ctrl-C resume hint, the dry run and ``hf_aidetect.train`` from a dict."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from transformers import TrainerState

from hf_aidetect.cli import main as cli_main
from hf_aidetect.errors import ConfigError
from hf_aidetect.training.config import parse_dict_args
from hf_aidetect.training.launch import resume_advice, run_recipe
from hf_aidetect.training.progress import TrainingProgress, format_duration, training_summary
from tests.training.conftest import FAST, TINY_CNN, write_checkpoint


def test_a_run_stops_early_and_fills_the_card(
    tiny_data: Path, tmp_path: Path, caplog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One tiny run through ``hf_aidetect.train(dict)``: early stopping ends it after the first epoch
    without an improvement beyond the threshold; the card carries the license, data name and widget
    images; tensorboard (offline) receives the logs; the epoch lines are short; a summary closes it."""
    pytest.importorskip("tensorboard")
    import hf_aidetect

    out = tmp_path / "run"
    values = {
        **TINY_CNN,
        **FAST,
        "dataset": str(tiny_data),
        "output_dir": str(out),
        "num_train_epochs": 6,
        "early_stopping_patience": 1,
        "early_stopping_threshold": 2.0,  # no ROC-AUC change can exceed it: stop after epoch 2
        "write_model_card": True,
        "license": "mit",
        "dataset_name": "tiny faces",
        "card_widget": 1,
        "report_to": "tensorboard",
    }
    monkeypatch.setenv("TENSORBOARD_LOGGING_DIR", str(tmp_path / "tb"))
    with caplog.at_level(logging.INFO, logger="hf_aidetect"):
        results = hf_aidetect.train(values)
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["epoch"] == pytest.approx(2.0)  # 6 epochs asked, stopped after 2
    assert "test_accuracy" in results

    card = ModelCard.load(out / "README.md")
    assert card.data.license == "mit"
    widget = card.data.widget
    assert [item["example_title"] for item in widget] == ["real (test image 1)", "fake (test image 1)"]
    for item in widget:
        assert (out / item["src"]).is_file() and item["src"].startswith("widget/")
    assert "tiny faces" in card.text
    assert any((tmp_path / "tb").rglob("events.out.tfevents.*")), "tensorboard wrote no event file"

    epoch_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("epoch ")]
    assert len(epoch_lines) == 2 and all(len(line) < 200 for line in epoch_lines), epoch_lines
    assert epoch_lines[0].startswith("epoch 1/6: accuracy ") and "ROC-AUC" in epoch_lines[0]
    assert "best ROC-AUC so far" in epoch_lines[0]
    assert "no improvement for 1/1" in epoch_lines[1]
    summary = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("Training finished"))
    assert "stopped early" in summary and f"model:   {out}" in summary and "README.md" in summary


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"early_stopping_patience": 0}, "must be >= 1"),
        ({"early_stopping_patience": 2, "load_best_model_at_end": False}, "load_best_model_at_end"),
        ({"early_stopping_patience": 2, "eval_strategy": "no", "save_strategy": "no"}, "evaluations"),
        ({"license": "my license"}, "Hub license id"),
        ({"card_widget": 20}, "1 to 8"),
        ({"card_widget": ["missing.jpg"]}, "no such image file"),
    ],
)
def test_bad_training_options_are_one_line_errors(tmp_path: Path, overrides: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_dict_args({**TINY_CNN, "output_dir": str(tmp_path), **overrides})


def _state(**values) -> TrainerState:
    state = TrainerState()
    for key, value in values.items():
        setattr(state, key, value)
    return state


def test_epoch_line_and_summary_are_compact(tmp_path: Path) -> None:
    _, args, _ = parse_dict_args({**TINY_CNN, "output_dir": str(tmp_path), "num_train_epochs": 3})
    progress = TrainingProgress()
    first = {"eval_accuracy": 0.91234567, "eval_roc_auc": 0.95, "eval_loss": 0.00047000034828670323}
    line = progress.epoch_line(args, _state(epoch=1.0, global_step=10), {**first, "eval_runtime": 1.0})
    assert line == "epoch 1/3: accuracy 0.9123, ROC-AUC 0.95, loss 0.00047; best ROC-AUC so far"
    worse = {**first, "eval_roc_auc": 0.9}
    line = progress.epoch_line(args, _state(epoch=2.0, global_step=20), worse)
    assert line.endswith("; best ROC-AUC 0.95 (epoch 1)")

    (tmp_path / "README.md").write_text("card")
    state = _state(epoch=3.0, global_step=30, best_model_checkpoint=str(tmp_path / "checkpoint-10"))
    state.best_metric = 0.95
    results = {"test_accuracy": 0.9, "test_roc_auc": 0.96, "test_loss": 0.2, "test_num_samples": 16}
    text = training_summary(tmp_path, results, state, args, 125.4, pushed="https://hub/user/x")
    assert text.startswith("Training finished in 2 min 05 s (3 epochs, 30 steps).")
    assert "best checkpoint: checkpoint-10, validation roc_auc 0.95" in text
    assert "test: accuracy 0.9, ROC-AUC 0.96, loss 0.2 (16 images)" in text
    assert f"card:    {tmp_path / 'README.md'}" in text and "pushed:  https://hub/user/x" in text
    assert [format_duration(s) for s in (42, 3600 * 2 + 300)] == ["42 s", "2 h 05 min"]


def test_resume_advice_names_the_command(tmp_path: Path) -> None:
    argv = ["--config", "demo_cnn", "--output_dir", str(tmp_path), "--overwrite-output-dir", "true"]
    before = resume_advice(["hf-aidetect", "train"], argv, tmp_path)
    assert before.startswith("interrupted before the first checkpoint was complete; to start again: ")
    write_checkpoint(tmp_path / "checkpoint-4", step=4)
    advice = resume_advice(["hf-aidetect", "train"], argv, tmp_path)
    assert "checkpoint-4 and the checkpoints before it are complete" in advice
    resume = f"hf-aidetect train --config demo_cnn --output_dir {tmp_path} --resume_from_checkpoint last"
    assert advice.endswith(f"Resume with: {resume}")


def test_ctrl_c_is_one_line_with_the_resume_command(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    def interrupted(script_args, training_args, model_args):
        raise KeyboardInterrupt

    write_checkpoint(tmp_path / "o" / "checkpoint-2", step=2)
    capsys.readouterr()
    monkeypatch.setattr("hf_aidetect.training.train", interrupted)
    argv = ["--model_type", "seed_cnn", "--dataset", str(tiny_data), "--output_dir", str(tmp_path / "o")]
    assert cli_main(["train", *argv]) == 130
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    assert err.startswith("hf-aidetect train: error: interrupted; checkpoint-2")
    assert err.endswith("--resume_from_checkpoint last")
    # The recipe scripts say the same (one line, exit status 130).
    assert run_recipe(interrupted, [*argv[:-1], str(tmp_path / "p")]) == 130


def test_dry_run_shows_the_plan_and_writes_nothing(tiny_data: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "never"
    argv = ["train", "--config", "demo_cnn", "--dataset", str(tiny_data), "--output-dir", str(out)]
    assert cli_main([*argv, "--batch-size", "4", "--num_train_epochs", "2", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "Resolved configuration" in text and "per_device_train_batch_size=4" in text
    assert "train            32 images: 16 real, 16 fake" in text
    assert "SeedCNNForImageClassification" in text and "parameters" in text
    assert "Plan: 16 optimizer steps (8 per epoch: 32 images / 4 per step" in text
    assert "Dry run: nothing was trained or written" in text
    assert not out.exists()


def test_train_from_python_rejects_mixed_arguments(tmp_path: Path) -> None:
    import hf_aidetect

    groups = parse_dict_args({**TINY_CNN, "output_dir": str(tmp_path)})
    with pytest.raises(ConfigError, match="three parsed groups and nothing else"):
        hf_aidetect.train(*groups, learning_rate=0.1)
    with pytest.raises(ConfigError, match="Unknown key 'learning_rat'"):
        hf_aidetect.train("demo_cnn", output_dir=str(tmp_path), learning_rat=0.1)
