"""``kill -9`` a training run at several points, resume it with ``--resume_from_checkpoint last``, and end
with exactly (bit for bit) the weights of an uninterrupted run with the same seed.

Covered: augmentation off and on (random native-resolution windows or random resized crops, flips, JPEG
re-encoding, blur), the plain image path and the decode cache with the batched stage on the device, 0 and 2
data-loader workers. Exact with augmentation because every draw is keyed by (seed, epoch, sample index).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.faults.conftest import (
    SAVE_EVERY,
    STEPS,
    Legs,
    differing,
    snapshot,
    train_argv,
    weights,
)

# (augment, decode cache + device stage, loader workers, random resized crops)
CASES = [
    pytest.param(True, False, 0, False, id="augment-plain-0w"),
    pytest.param(True, True, 2, False, id="augment-cache-device-2w"),
    pytest.param(True, False, 2, False, id="augment-plain-2w", marks=pytest.mark.slow),
    pytest.param(True, True, 0, False, id="augment-cache-device-0w", marks=pytest.mark.slow),
    pytest.param(True, False, 2, True, id="augment-resized-crops-plain-2w", marks=pytest.mark.slow),
    pytest.param(False, False, 0, False, id="plain-0w", marks=pytest.mark.slow),
    pytest.param(False, True, 2, False, id="cache-device-2w", marks=pytest.mark.slow),
]
RECIPE_DEFAULT = {"augment": True, "cache": False, "workers": 0, "resize": False}  # flips on, as the recipes
_REFERENCES: dict[tuple, Path] = {}


def reference_run(legs: Legs, data: Path, root: Path, **setting) -> Path:
    """The uninterrupted run for ``setting`` (once per session)."""
    key = tuple(sorted(setting.items()))
    if key not in _REFERENCES:
        out = root / ("reference-" + "-".join(f"{k}{v}" for k, v in key))
        result = legs.run(train_argv(data, out, **setting))
        assert result.status == 0, result.log[-3000:]
        _REFERENCES[key] = out
    return _REFERENCES[key]


def assert_same_run(resumed: Path, reference: Path) -> None:
    """Final model, last checkpoint and the trainer's bookkeeping equal those of the reference run."""
    last = f"checkpoint-{STEPS}"
    for what, left, right in (
        ("last checkpoint", resumed / last, reference / last),
        ("model", resumed, reference),
    ):
        bad = differing(weights(left), weights(right))
        assert not bad, f"{what}: {len(bad)} tensor(s) differ from the uninterrupted run, e.g. {bad[:3]}"
    state, expected = (
        json.loads((folder / "trainer_state.json").read_text()) for folder in (resumed, reference)
    )
    assert state["global_step"] == expected["global_step"] == STEPS
    assert Path(state["best_model_checkpoint"]).name == Path(expected["best_model_checkpoint"]).name
    losses = [
        [entry.get("eval_loss") for entry in s["log_history"] if "eval_loss" in entry]
        for s in (state, expected)
    ]
    assert losses[0] == losses[1]


@pytest.mark.parametrize(("augment", "cache", "workers", "resize"), CASES)
def test_kill_mid_epoch_then_resume_is_exact(
    legs: Legs, fault_data: Path, tmp_path_factory: pytest.TempPathFactory, augment: bool, cache: bool,
    workers: int, resize: bool,
) -> None:  # fmt: skip
    setting = {"augment": augment, "cache": cache, "workers": workers, "resize": resize}
    reference = reference_run(legs, fault_data, tmp_path_factory.getbasetemp(), **setting)
    out = tmp_path_factory.mktemp("killed")
    # Step 6: mid-epoch, two steps after checkpoint-4, so the resume must skip into the epoch.
    killed = legs.run(train_argv(fault_data, out, **setting), kill="step:6")
    assert killed.killed, killed.log[-3000:]
    kept = snapshot(out / "checkpoint-4")
    resumed = legs.run([*train_argv(fault_data, out, **setting), "--resume_from_checkpoint", "last"])
    assert resumed.status == 0, resumed.log[-3000:]
    assert resumed_from(resumed.log) == "checkpoint-4"
    assert (
        snapshot(out / "checkpoint-4") == kept or not (out / "checkpoint-4").exists()
    )  # rotated, not damaged
    assert_same_run(out, reference)


def test_kill_while_saving_a_checkpoint(
    legs: Legs, fault_data: Path, tmp_path_factory: pytest.TempPathFactory
):
    """Killed inside the save of checkpoint-8 (weights and optimizer written, RNG state and trainer state
    not): checkpoint-8 never appears, checkpoint-4 stays byte-identical, ``last`` resumes from it, exactly."""
    reference = reference_run(legs, fault_data, tmp_path_factory.getbasetemp(), **RECIPE_DEFAULT)
    out = tmp_path_factory.mktemp("kill-saving")
    argv = train_argv(fault_data, out, **RECIPE_DEFAULT)
    first = legs.run(argv, kill=f"saved:{SAVE_EVERY}")
    assert first.killed
    before = snapshot(out / "checkpoint-4")
    resume = [*argv, "--resume_from_checkpoint", "last"]
    second = legs.run(resume, kill=f"saving:{2 * SAVE_EVERY}")
    assert second.killed
    assert not (out / "checkpoint-8").exists()
    assert [path.name for path in out.glob(".checkpoint-8*")] == [".checkpoint-8.partial"]
    assert snapshot(out / "checkpoint-4") == before
    last = legs.run(resume)
    assert last.status == 0, last.log[-3000:]
    assert "an interrupted save" in last.log and resumed_from(last.log) == "checkpoint-4"
    assert not list(out.glob(".checkpoint-*")), "the stale staging folder should be gone"
    assert_same_run(out, reference)


def test_killed_again_and_again_still_ends_exactly(
    legs: Legs, fault_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Killed before the first checkpoint, right after one and just before an epoch's end: each re-run
    takes the newest complete checkpoint (a fresh start when there is none), and the end is exact."""
    reference = reference_run(legs, fault_data, tmp_path_factory.getbasetemp(), **RECIPE_DEFAULT)
    out = tmp_path_factory.mktemp("chain")
    argv = train_argv(fault_data, out, **RECIPE_DEFAULT)
    first = legs.run(argv, kill="step:2")  # nothing saved yet: the re-run starts from scratch
    assert first.killed and not list(out.glob("checkpoint-*"))
    second = legs.run(argv, kill=f"saved:{SAVE_EVERY}")
    assert second.killed and (out / "checkpoint-4").is_dir()
    resume = [*argv, "--resume_from_checkpoint", "last"]
    third = legs.run(resume, kill="step:7")  # the last step of the first epoch
    assert third.killed and resumed_from(third.log) == "checkpoint-4"
    fourth = legs.run(resume, kill="step:10")  # saves checkpoint-8 on the way
    assert fourth.killed and resumed_from(fourth.log) == "checkpoint-4"
    last = legs.run(resume)
    assert last.status == 0, last.log[-3000:]
    assert resumed_from(last.log) == "checkpoint-8"
    assert_same_run(out, reference)


def resumed_from(log: str) -> str | None:
    """The checkpoint folder a leg said it resumed from."""
    lines = [line for line in log.splitlines() if "Resuming from " in line]
    return Path(lines[-1].split("Resuming from ", 1)[1].rstrip(".")).name if lines else None


def test_killed_from_outside_at_an_unknown_moment(
    legs: Legs, fault_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """SIGKILL from another process as soon as checkpoint-8 exists (wherever the run is then)."""
    reference = reference_run(legs, fault_data, tmp_path_factory.getbasetemp(), **RECIPE_DEFAULT)
    out = tmp_path_factory.mktemp("external")
    argv = train_argv(fault_data, out, **RECIPE_DEFAULT)
    killed = legs.run(argv, kill_when=lambda: (out / "checkpoint-8").exists())
    if not killed.killed:  # the run outpaced the poll; start over in a fresh folder
        pytest.skip("the run finished before it could be killed")
    resumed = legs.run([*argv, "--resume_from_checkpoint", "last"])
    assert resumed.status == 0, resumed.log[-3000:]
    assert_same_run(out, reference)
    shutil.rmtree(out)
