"""Speed switches are measured, cached per machine, and a resumed run reuses the interrupted run's choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from hf_aidetect.errors import ConfigError
from hf_aidetect.models.seed_cnn import SeedCNNConfig, SeedCNNForImageClassification
from hf_aidetect.training import speed
from hf_aidetect.training.arguments import parse_switch
from hf_aidetect.training.runner import build_trainer
from tests.training.conftest import TINY_CNN, recipe_args

CPU = torch.device("cpu")


def _cnn() -> SeedCNNForImageClassification:
    return SeedCNNForImageClassification(SeedCNNConfig(image_size=32, conv_channels=[4, 8], hidden_sizes=[8]))


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[bool, bool]]:
    """Candidates are 'timed' by a table: channels_last + bf16 is fastest; records what was measured."""
    monkeypatch.setattr(speed, "_cache_path", lambda: tmp_path / "speed_cache.json")
    measured: list[tuple[bool, bool]] = []
    table = {(False, False): 0.4, (True, False): 0.3, (False, True): 0.5, (True, True): 0.2}

    def timed(model, device, size, batch, channels_last, bf16, steps):
        measured.append((channels_last, bf16))
        return table[(channels_last, bf16)]

    monkeypatch.setattr(speed, "_time_candidate", timed)
    return measured


def test_the_fastest_candidate_wins_and_is_cached(fake_clock) -> None:
    choice = speed.choose_speed_switches(_cnn(), CPU, 32, 8, channels_last="auto", bf16_candidate=True)
    assert (choice.channels_last, choice.bf16, choice.source) == (True, True, "measured")
    assert len(fake_clock) == 8 and len(choice.seconds_per_step) == 4  # 2 interleaved rounds of 4
    assert fake_clock[:4] == fake_clock[4:]
    again = speed.choose_speed_switches(_cnn(), CPU, 32, 8, channels_last="auto", bf16_candidate=True)
    assert (again.channels_last, again.bf16, again.source) == (True, True, "cached") and len(fake_clock) == 8
    other_size = speed.choose_speed_switches(_cnn(), CPU, 64, 8, channels_last="auto", bf16_candidate=True)
    assert other_size.source == "measured" and len(fake_clock) == 16  # sizes are measured separately
    assert "channels_last=True,bf16=True 200 ms" in speed.describe(choice, 32, 8)


def test_forced_switches_and_models_without_convolutions_measure_nothing(fake_clock) -> None:
    forced = speed.choose_speed_switches(_cnn(), CPU, 32, 8, channels_last="false", bf16_candidate=False)
    assert (forced.channels_last, forced.bf16, forced.source) == (False, False, "fixed")
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 2))
    assert speed.choose_speed_switches(mlp, CPU, 32, 8, channels_last="auto").source == "fixed"
    only_bf16 = speed.choose_speed_switches(_cnn(), CPU, 32, 8, channels_last="true", bf16_candidate=True)
    assert only_bf16.channels_last and only_bf16.bf16 and fake_clock == [(True, False), (True, True)] * 2


def test_a_switch_must_win_by_a_margin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(speed, "_cache_path", lambda: tmp_path / "speed_cache.json")
    table = {(False, False): 0.100, (True, False): 0.097}  # 3 % faster: within noise, plain stays
    monkeypatch.setattr(speed, "_time_candidate", lambda m, d, s, b, cl, bf, n: table[(cl, bf)])
    assert speed.choose_speed_switches(_cnn(), CPU, 32, 8).channels_last is False
    table[(True, False)] = 0.090
    assert speed.choose_speed_switches(_cnn(), CPU, 48, 8).channels_last is True


def test_a_real_timing_runs_the_model_and_leaves_it_untouched() -> None:
    model = _cnn()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seconds = speed._time_candidate(model, CPU, 32, 4, channels_last=True, bf16=False, steps=1)
    assert seconds > 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_resumed_runs_reuse_the_recorded_choice(tiny_data: Path, tmp_path: Path, fake_clock) -> None:
    out = tmp_path / "out"
    first = build_trainer(*recipe_args(tiny_data, out, TINY_CNN, channels_last="auto", auto_bf16=False))
    recorded = json.loads((out / "speed_switches.json").read_text())
    assert first.speed.channels_last is True and recorded["channels_last"] is True
    (out / "speed_switches.json").write_text(json.dumps({**recorded, "channels_last": False}))
    resumed = build_trainer(
        *recipe_args(tiny_data, out, TINY_CNN, channels_last="auto", resume_from_checkpoint=str(out))
    )
    assert resumed.speed.channels_last is False and resumed.speed.source == "resumed run"


def test_switch_values() -> None:
    assert [parse_switch("x", v) for v in (True, "False", "auto", "on", 0)] == [
        "true",
        "false",
        "auto",
        "true",
        "false",
    ]
    with pytest.raises(ConfigError, match="--channels_last takes auto, true or false"):
        parse_switch("channels_last", "sometimes")
