"""Checkpoints that appear only when complete, and the newest complete one for ``resume_from_checkpoint``.

:class:`~hf_aidetect.training.trainer.DetectionTrainer` writes checkpoint ``N`` into ``.checkpoint-N.partial``
(:func:`staging_dir`) and renames it to ``checkpoint-N`` once every rank has written its files; rotation
renames a doomed checkpoint aside before deleting it. So a ``checkpoint-N`` folder is complete or absent.
Folders written otherwise (an older hf_aidetect, a stock ``Trainer``, a copy cut short) can still be
incomplete: :func:`find_resumable_checkpoint` checks every file a resume reads and skips, with the reason,
any checkpoint that lacks one.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, sort_checkpoints

from hf_aidetect.errors import ModelFileError
from hf_aidetect.files import PARTIAL_MARK, is_partial, remove_directory
from hf_aidetect.files.layout import CONFIG, TRAINER_STATE
from hf_aidetect.models.integrity import (
    check_torch_archive,
    load_config,
    read_json_file,
    safetensors_shapes,
    weight_shapes,
)
from hf_aidetect.models.lora import ADAPTER_CONFIG, ADAPTER_WEIGHTS

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = re.compile(rf"^{PREFIX_CHECKPOINT_DIR}-(\d+)$")
OPTIMIZER = "optimizer.pt"
SCHEDULER = "scheduler.pt"
SCALER = "scaler.pt"
# Sharded (FSDP / DeepSpeed) checkpoints keep weights and optimizer in their own layouts: only their
# presence is checked.
SHARDED_MARKERS = ("pytorch_model_fsdp_0", "pytorch_model_fsdp.bin", "optimizer_0", "latest")


def staging_dir(final: str | Path) -> Path:
    """Where checkpoint ``final`` is written before it is renamed into place (the same name on every rank)."""
    final = Path(final)
    return final.with_name(f".{final.name}{PARTIAL_MARK}")


@dataclass
class SkippedCheckpoint:
    """A checkpoint folder that cannot be resumed from, and why."""

    path: Path
    reasons: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"{self.path.name} ({'; '.join(self.reasons)})"


def _file_problem(check: object, *args: object) -> str | None:
    try:
        check(*args)  # type: ignore[operator]
    except ModelFileError as error:
        return str(error).split(";")[0]
    return None


def _rng_files(folder: Path, world_size: int | None) -> list[str]:
    """The RNG states a resume reads: one per rank; ``world_size=None``: those present (at least one)."""
    if world_size is None:
        return sorted(path.name for path in folder.glob("rng_state*.pth")) or ["rng_state.pth"]
    return ["rng_state.pth"] if world_size <= 1 else [f"rng_state_{rank}.pth" for rank in range(world_size)]


def checkpoint_problems(
    folder: str | Path, *, needs_optimizer: bool = True, world_size: int | None = 1
) -> list[str]:
    """Why ``folder`` cannot be resumed from (empty list: it is complete).

    Checked: ``trainer_state.json`` parses; the weights are whole and fit ``config.json``; unless
    ``needs_optimizer`` (``save_only_model``), the optimizer and scheduler states and every rank's RNG
    state are whole ``torch.save`` archives (so the resumed run continues exactly). ``world_size``: the
    number of ranks whose RNG states must be there (None: any that are present).
    """
    folder = Path(folder)
    problems = []
    state = folder / TRAINER_STATE
    if not state.is_file():
        problems.append(f"no {TRAINER_STATE}")
    elif _file_problem(read_json_file, state):
        problems.append(f"{TRAINER_STATE} is cut off or corrupt")
    sharded = any((folder / marker).exists() for marker in SHARDED_MARKERS)
    if not sharded:
        for problem in _weight_problems(folder):
            if problem:
                problems.append(problem.replace(str(folder) + "/", "").replace(str(folder), "the folder"))
    if needs_optimizer and not sharded:
        for name in (OPTIMIZER, SCHEDULER, *_rng_files(folder, world_size)):
            if not (folder / name).is_file():
                problems.append(f"no {name}")
            elif _file_problem(check_torch_archive, folder / name):
                problems.append(f"{name} is cut off or corrupt")
    if (folder / SCALER).is_file() and _file_problem(check_torch_archive, folder / SCALER):
        problems.append(f"{SCALER} is cut off or corrupt")
    return problems


def _weight_problems(folder: Path) -> list[str | None]:
    """Config + weights; a LoRA run's checkpoint holds the adapter + head (peft's files) instead."""
    if (folder / ADAPTER_WEIGHTS).is_file() and not (folder / CONFIG).is_file():
        return [
            _file_problem(read_json_file, folder / ADAPTER_CONFIG),
            _file_problem(safetensors_shapes, folder / ADAPTER_WEIGHTS),
        ]
    return [_file_problem(load_config, folder), _file_problem(weight_shapes, folder)]


def checkpoint_folders(output_dir: str | Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of every ``checkpoint-N`` folder, newest step first."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    found = []
    for path in output_dir.iterdir():
        match = CHECKPOINT_NAME.match(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    return sorted(found, reverse=True)


def find_resumable_checkpoint(
    output_dir: str | Path, *, needs_optimizer: bool = True, world_size: int | None = 1
) -> tuple[Path | None, list[SkippedCheckpoint]]:
    """The newest complete checkpoint in ``output_dir`` (or None) and the newer ones that were skipped."""
    output_dir = Path(output_dir)
    skipped = [
        SkippedCheckpoint(path, ["an interrupted save (never renamed into place)"])
        for path in sorted(output_dir.glob(f".{PREFIX_CHECKPOINT_DIR}-*"))
        if is_partial(path.name) and path.is_dir()
    ]
    for _, path in checkpoint_folders(output_dir):
        problems = checkpoint_problems(path, needs_optimizer=needs_optimizer, world_size=world_size)
        if not problems:
            return path, skipped
        skipped.append(SkippedCheckpoint(path, problems))
    return None, skipped


def rotate_checkpoints(run_dir: str | Path, save_total_limit: int | None, best: str | None) -> None:
    """``transformers.trainer_utils.rotate_checkpoints`` (same order, same protected folders), but a
    deleted checkpoint is renamed aside first, so it never exists half-deleted under its own name."""
    if save_total_limit is None or save_total_limit <= 0:
        return
    checkpoints = sort_checkpoints(str(run_dir), use_mtime=True)
    if len(checkpoints) <= save_total_limit:
        return
    protected = {checkpoints[-1], *([str(Path(best))] if best is not None else [])}
    remaining = len(checkpoints)
    for checkpoint in checkpoints:
        if remaining <= max(save_total_limit, len(protected)):
            break
        if checkpoint not in protected:
            logger.info("Deleting older checkpoint %s (save_total_limit %d).", checkpoint, save_total_limit)
            remove_directory(checkpoint)
            remaining -= 1
