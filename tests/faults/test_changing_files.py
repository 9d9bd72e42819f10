"""Files that change while they are being used: images broken after the validation pass, and the model's
config.json rewritten (a threshold being saved) while predict reads it."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from hf_aidetect.cli import main as cli_main
from hf_aidetect.inference.threshold import save_threshold
from hf_aidetect.training.trainer import DetectionTrainer
from tests.faults.conftest import assert_one_line_error, snapshot, train_argv
from tests.inference.conftest import save_tiny_cnn
from tests.utils import write_rgb_png

BROKEN = [f"{label}/{index:03d}.png" for label in ("real", "fake") for index in range(4)]


@pytest.mark.parametrize("workers", [0, 2], ids=["0w", "2w"])
def test_images_broken_after_validation(
    fault_data: Path, tmp_path: Path, monkeypatch, capsys, workers
) -> None:
    """Eight train images are cut short after checkpoint-8, i.e. after they were validated: the run stops
    with one line naming an image, the checkpoints stay byte-identical, and the re-run (whose validation
    skips the broken files) resumes from checkpoint-8 and finishes."""
    data = tmp_path / "data"
    shutil.copytree(fault_data, data)
    out = tmp_path / "run"
    kept: dict[str, dict[str, str]] = {}
    original_save_checkpoint = DetectionTrainer._save_checkpoint

    def save_checkpoint_then_break_images(self, model, trial):
        original_save_checkpoint(self, model, trial)
        if self.state.global_step == 8:
            kept.update({path.name: snapshot(path) for path in out.glob("checkpoint-*")})
            for name in BROKEN:
                image = data / "train" / name
                image.write_bytes(image.read_bytes()[:60])

    monkeypatch.setattr(DetectionTrainer, "_save_checkpoint", save_checkpoint_then_break_images)
    argv = [
        *train_argv(fault_data, out, workers=workers),
        "--validate_images",
        "true",
        "--dataset",
        str(data),
    ]
    assert cli_main(argv) == 2
    assert_one_line_error(capsys.readouterr().err, str(data / "train"), "--resume_from_checkpoint last")
    assert sorted(kept) == ["checkpoint-4", "checkpoint-8"]
    assert {path.name: snapshot(path) for path in out.glob("checkpoint-*")} == kept
    monkeypatch.undo()
    assert cli_main([*argv, "--resume_from_checkpoint", "last"]) == 0
    summary = json.loads((out / "data_summary.json").read_text())
    assert len(summary["bad_images"]) == len(BROKEN)


@pytest.fixture
def model_with_threshold(tmp_path: Path) -> Path:
    model = save_tiny_cnn(tmp_path / "model")
    save_threshold(model, 0.25)
    return model


def test_config_rewritten_while_predict_reads_it(
    model_with_threshold: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """A threshold save stalls half-way through writing config.json (a slow disk, a process about to be
    killed): meanwhile predict still loads the complete old config; after the save, the new one."""
    model = model_with_threshold
    image = write_rgb_png(tmp_path / "face.png", size=40)
    half_written, resume = threading.Event(), threading.Event()
    real_write = os.write

    def slow_write(descriptor: int, data) -> int:
        if "config.json" in os.readlink(f"/proc/self/fd/{descriptor}") and not half_written.is_set():
            written = real_write(descriptor, bytes(data)[: len(data) // 2])
            half_written.set()
            resume.wait(30)
            return written
        return real_write(descriptor, data)

    monkeypatch.setattr(os, "write", slow_write)
    writer = threading.Thread(target=save_threshold, args=(model, 0.75))
    writer.start()
    try:
        assert half_written.wait(30), "the threshold save never wrote config.json"
        assert json.loads((model / "config.json").read_text())["fake_threshold"] == 0.25
        out = tmp_path / "during.csv"
        assert cli_main(["predict", str(model), str(image), "--output", str(out), "--no-progress"]) == 0
    finally:
        resume.set()
        writer.join(30)
    assert "at threshold 0.2500 (saved with the model)" in capsys.readouterr().err
    assert len(out.read_text().splitlines()) == 2
    assert json.loads((model / "config.json").read_text())["fake_threshold"] == 0.75
    assert not [path.name for path in model.iterdir() if "partial" in path.name]


def test_config_rewritten_over_and_over_while_read(model_with_threshold: Path) -> None:
    """Many saves racing many reads: every read sees a whole config.json."""
    from transformers import AutoConfig

    model = model_with_threshold
    stop = threading.Event()

    def keep_saving() -> None:
        value = 0.0
        while not stop.is_set():
            value = (value + 0.01) % 1.0
            save_threshold(model, value)

    writer = threading.Thread(target=keep_saving)
    writer.start()
    try:
        for _ in range(200):
            config = AutoConfig.from_pretrained(model)
            assert 0.0 <= config.fake_threshold <= 1.0
    finally:
        stop.set()
        writer.join(30)
