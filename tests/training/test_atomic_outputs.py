"""Results, thresholds, cards and trainer state are replaced atomically (issue 11, defect 10): a failure in
the middle of writing any of them leaves the previous file byte-identical and no temporary file behind."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from transformers import TrainerState

from hf_aidetect.errors import OutputError
from hf_aidetect.inference.threshold import save_threshold
from hf_aidetect.publishing.model_card import write_model_card
from hf_aidetect.training.outputs import write_epoch_metrics, write_json
from hf_aidetect.training.trainer import DetectionTrainer
from tests.faults.conftest import assert_unchanged, snapshot
from tests.faults.test_disk_full import FullDisk
from tests.publishing.conftest import write_training_outputs

LOG = [{"epoch": 1.0, "step": 4, "loss": 0.5}, {"epoch": 1.0, "step": 4, "eval_loss": 0.4}]


def _save_state(folder: Path) -> None:
    fake = SimpleNamespace(
        is_world_process_zero=lambda: True,
        state=TrainerState(global_step=7),
        args=SimpleNamespace(output_dir=str(folder)),
    )
    DetectionTrainer.save_state(fake)


WRITERS = {
    "all_results.json": lambda folder: write_json(folder / "all_results.json", {"test_accuracy": 0.9}),
    "epoch_metrics.csv": lambda folder: write_epoch_metrics(folder / "epoch_metrics.csv", LOG),
    "config.json": lambda folder: save_threshold(folder, 0.37),
    "README.md": lambda folder: write_model_card(folder, card_data={"model_name": "atomic"}),
    "trainer_state.json": _save_state,
}


@pytest.mark.parametrize("name", list(WRITERS))
def test_an_interrupted_write_keeps_the_old_file(name: str, tmp_path: Path, monkeypatch) -> None:
    folder = write_training_outputs(tmp_path / "out", "seed_cnn")
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# the previous card\n")
    before = snapshot(folder)
    FullDisk(monkeypatch, folder, name=name)
    with pytest.raises(OutputError, match=name.replace(".", r"\.")):
        WRITERS[name](folder)
    assert_unchanged(before, folder)
    assert set(snapshot(folder)) == set(before)  # nothing new either: no temporary file
    monkeypatch.undo()
    WRITERS[name](folder)
    assert snapshot(folder)[name] != before[name]
    if name.endswith(".json"):
        json.loads((folder / name).read_text())


def test_the_final_model_files_are_replaced_whole(tiny_data: Path, tmp_path: Path, monkeypatch) -> None:
    """trainer.save_model() writes into a hidden staging folder and moves each file into place: a failure
    while saving leaves the previous model byte-identical (and no staging folder)."""
    import errno
    import os

    from transformers import PreTrainedModel

    from hf_aidetect.training.runner import build_trainer
    from tests.training.conftest import TINY_CNN, recipe_args

    out = tmp_path / "run"
    args = recipe_args(tiny_data, out, TINY_CNN, max_steps=1, save_strategy="no", eval_strategy="no")
    trainer = build_trainer(*args).trainer
    trainer.train()
    trainer.save_model()
    before = snapshot(out)
    real = PreTrainedModel.save_pretrained

    def full_disk(self, save_directory, *args, **kwargs):
        real(self, save_directory, *args, **kwargs)
        weights = Path(save_directory) / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:50])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(weights))

    monkeypatch.setattr(PreTrainedModel, "save_pretrained", full_disk)
    with pytest.raises(OutputError, match="no space left"):
        trainer.save_model()
    assert_unchanged(before, out)
    assert set(snapshot(out)) == set(before) and not (out / ".model.partial").exists()


def test_a_threshold_fold_that_fails_keeps_the_old_weights(tmp_path: Path, monkeypatch) -> None:
    """The operating-point fold rewrites model.safetensors through hf_aidetect.files: a write that fails
    half-way leaves the previous weights (and their permissions) as they were."""
    import errno
    import os
    import stat

    from hf_aidetect.models import operating_point

    folder = write_training_outputs(tmp_path / "out", "seed_cnn")
    weights = folder / "model.safetensors"
    weights.chmod(0o644)
    before = snapshot(folder)

    def half_then_full(temporary: Path) -> None:
        temporary.write_bytes(weights.read_bytes()[:64])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(temporary))

    with pytest.raises(OutputError, match=r"model\.safetensors: no space left"):
        operating_point._atomic_replace(weights, half_then_full)
    assert_unchanged(before, folder)
    assert set(snapshot(folder)) == set(before)
    operating_point._atomic_replace(weights, lambda temporary: temporary.write_bytes(b"new weights"))
    assert weights.read_bytes() == b"new weights" and stat.S_IMODE(weights.stat().st_mode) == 0o644
