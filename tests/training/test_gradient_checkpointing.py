"""``--gradient_checkpointing true`` trains the seed CNN (it raised ValueError before; issue 11 defect 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_aidetect.training.runner import build_trainer
from tests.training.conftest import TINY_CNN, recipe_args


@pytest.mark.filterwarnings("ignore:`gradient_checkpointing` is deprecated")
@pytest.mark.parametrize("flag", ["gradient_checkpointing", "activation_checkpointing"])
def test_seed_cnn_trains_with_gradient_checkpointing(tiny_data: Path, tmp_path: Path, flag: str) -> None:
    args = recipe_args(tiny_data, tmp_path / "run", TINY_CNN, max_steps=2, **{flag: True})
    trainer = build_trainer(*args).trainer
    trainer.train()
    assert trainer.model.is_activation_checkpointing
    assert trainer.state.global_step == 2
