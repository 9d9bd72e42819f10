"""A full disk (``ENOSPC``) in the middle of a write: the old file stays byte-identical, no half-written or
temporary file is left, the command says in one line which path could not be written, and a re-run works.

The fault is injected at the lowest write of each path: :func:`os.write` for everything hf_aidetect writes
itself (:mod:`hf_aidetect.files` writes through it) and ``torch.save`` for the Trainer's checkpoint files.
The first write into the "full" folder gets half its bytes through, then the device is full.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
import torch

from hf_aidetect.cli import main as cli_main
from hf_aidetect.errors import OutputError
from hf_aidetect.inference.threshold import save_threshold
from hf_aidetect.training.trainer import DetectionTrainer
from tests.faults.conftest import assert_one_line_error, assert_unchanged, snapshot, train_argv
from tests.inference.conftest import save_tiny_cnn
from tests.utils import write_rgb_png


class FullDisk:
    """``os.write`` into files under ``folder`` (optionally only names containing ``name``) runs out of
    space: half the bytes of the first such write land, then ``OSError(ENOSPC)``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, folder: Path, name: str = "") -> None:
        self.folder, self.name, self.hits = str(folder.resolve()), name, 0
        real_write = os.write

        def write(descriptor: int, data) -> int:
            try:
                path = os.readlink(f"/proc/self/fd/{descriptor}")
            except OSError:
                path = ""
            if path.startswith(self.folder) and self.name in os.path.basename(path):
                self.hits += 1
                if self.hits == 1 and len(data) > 1:
                    return real_write(descriptor, bytes(data)[: len(data) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_write(descriptor, data)

        monkeypatch.setattr(os, "write", write)


pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd (Linux)")


@pytest.fixture
def model_and_images(tmp_path: Path) -> tuple[Path, list[Path]]:
    model = save_tiny_cnn(tmp_path / "model")
    images = [write_rgb_png(tmp_path / "images" / f"{index}.png", size=40, seed=index) for index in range(3)]
    return model, images


def test_predict_output_on_a_full_disk(model_and_images, tmp_path: Path, monkeypatch, capsys) -> None:
    model, images = model_and_images
    out = tmp_path / "out"
    out.mkdir()
    (out / "preds.csv").write_text("path,label,fake_score,error\nold.png,real,0.1,\n")
    before = snapshot(out)
    args = ["predict", str(model), *map(str, images), "--output", str(out / "preds.csv"), "--overwrite"]
    args += ["--format", "csv", "--no-progress"]
    disk = FullDisk(monkeypatch, out)
    status = cli_main(args)
    assert status != 0 and disk.hits
    assert_one_line_error(capsys.readouterr().err, "preds.csv", "no space left")
    assert_unchanged(before, out)
    assert sorted(path.name for path in out.iterdir()) == ["preds.csv"]  # no temporary file left
    monkeypatch.undo()
    assert cli_main(args) == 0
    assert len((out / "preds.csv").read_text().splitlines()) == 1 + len(images)


def test_threshold_save_on_a_full_disk(model_and_images, monkeypatch) -> None:
    model, _ = model_and_images
    before = snapshot(model)
    FullDisk(monkeypatch, model)
    with pytest.raises(OutputError, match=r"config\.json.*no space left"):
        save_threshold(model, 0.3)
    assert_unchanged(before, model)
    monkeypatch.undo()
    save_threshold(model, 0.3)
    assert json.loads((model / "config.json").read_text())["fake_threshold"] == 0.3


def test_results_written_at_the_end_of_training_on_a_full_disk(
    fault_data: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """A second run (--overwrite_output_dir) hits a full disk while writing all_results.json: the first
    run's file stays whole, and a third run succeeds."""
    out = tmp_path / "run"
    argv = [*train_argv(fault_data, out), "--max_steps", "4"]  # one checkpoint is enough here
    assert cli_main(argv) == 0
    first = (out / "all_results.json").read_bytes()
    capsys.readouterr()
    disk = FullDisk(monkeypatch, out, name="all_results.json")
    assert cli_main([*argv, "--overwrite_output_dir", "true"]) == 2 and disk.hits
    assert_one_line_error(capsys.readouterr().err, "all_results.json", "no space left")
    assert (out / "all_results.json").read_bytes() == first
    assert not [path.name for path in out.iterdir() if "partial" in path.name]
    monkeypatch.undo()
    assert cli_main([*argv, "--overwrite_output_dir", "true"]) == 0
    assert json.loads((out / "all_results.json").read_text())["train_global_batch_size"] == 4


def test_checkpoint_save_on_a_full_disk(fault_data: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    """torch.save runs out of space inside checkpoint-8: no checkpoint-8 appears, checkpoint-4 is
    byte-identical, and the resume from it finishes."""
    out = tmp_path / "run"
    seen: dict[str, dict[str, str]] = {}
    real_save = torch.save

    def save(obj, f, *args, **kwargs):
        if ".checkpoint-8" in str(f) and str(f).endswith("optimizer.pt"):
            Path(f).write_bytes(b"PK\x03\x04 half an archive")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(f))
        return real_save(obj, f, *args, **kwargs)

    original_save_checkpoint = DetectionTrainer._save_checkpoint

    def save_checkpoint(self, model, trial):
        original_save_checkpoint(self, model, trial)
        if self.state.global_step == 4:
            seen["checkpoint-4"] = snapshot(out / "checkpoint-4")

    monkeypatch.setattr(torch, "save", save)
    monkeypatch.setattr(DetectionTrainer, "_save_checkpoint", save_checkpoint)
    argv = train_argv(fault_data, out)
    assert cli_main(argv) == 2
    assert_one_line_error(capsys.readouterr().err, "checkpoint-8", "--resume_from_checkpoint last")
    assert not (out / "checkpoint-8").exists() and not list(out.glob(".checkpoint-*"))
    assert snapshot(out / "checkpoint-4") == seen["checkpoint-4"]
    monkeypatch.undo()
    assert cli_main([*argv, "--resume_from_checkpoint", "last"]) == 0
    assert (out / "checkpoint-12").is_dir()


def test_torch_writer_failures_are_one_line_too() -> None:
    """torch.save reports a full disk as its own RuntimeError; a checkpoint save says it in one line."""
    from hf_aidetect.training.trainer import _raise_write_error

    torch_error = RuntimeError(
        "[enforce fail at inline_container.cc:664] . PytorchStreamWriter failed writing"
    )
    with pytest.raises(OutputError, match=r"cannot save /run/checkpoint-8: .*PytorchStreamWriter.*intact"):
        _raise_write_error("/run/checkpoint-8", torch_error)
    other = RuntimeError("CUDA error: an illegal memory access")
    with pytest.raises(RuntimeError, match="illegal memory access"):
        _raise_write_error("/run/checkpoint-8", other)


def test_demo_data_on_a_full_disk(tmp_path: Path, monkeypatch, capsys) -> None:
    from hf_aidetect.data.demo import writer

    args = [
        "demo-data",
        str(tmp_path),
        "--image-size",
        "16",
        "--train-per-class",
        "2",
        "--valid-per-class",
        "1",
    ]
    args += [
        "--test-per-class",
        "1",
        "--generator-steps",
        "2",
        "--generator-crops",
        "8",
        "--generator-width",
        "4",
    ]
    assert cli_main(args) == 0
    before = snapshot(tmp_path)
    calls = []
    real_save = writer.save_image

    def save_image(pixels, path, options):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_save(pixels, path, options)

    monkeypatch.setattr(writer, "save_image", save_image)
    capsys.readouterr()
    assert cli_main([*args, "--overwrite", "--seed", "1"]) == 2
    assert_one_line_error(capsys.readouterr().err, "real_vs_fake", "no space left")
    assert_unchanged(before, tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["README.md", "real_vs_fake"]
    monkeypatch.undo()
    assert cli_main([*args, "--overwrite", "--seed", "1"]) == 0
    assert snapshot(tmp_path) != before
