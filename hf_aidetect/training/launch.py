"""Glue shared by the recipe scripts and ``hf-aidetect train``: parse, set up logging, run, report, and
say how to resume after Ctrl-C."""

from __future__ import annotations

import logging
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hf_aidetect._logging import configure_logging
from hf_aidetect._shutdown import freeze_heap_at_exit
from hf_aidetect.errors import AIDetectError, one_line

logger = logging.getLogger("hf_aidetect")


def resume_advice(program: Sequence[str], argv: Sequence[str], output_dir: str | Path) -> str:
    """What to tell the user after Ctrl-C: the command that resumes from the newest complete checkpoint in
    ``output_dir`` (``program`` + ``argv`` + ``--resume_from_checkpoint last``), or re-runs from scratch."""
    from hf_aidetect.training.checkpoints import find_resumable_checkpoint

    found, _ = find_resumable_checkpoint(output_dir, world_size=None)
    if found is None:
        command = shlex.join([*program, *argv])
        return f"interrupted before the first checkpoint was complete; to start again: {command}"
    kept = _without(list(argv), {"resume_from_checkpoint", "overwrite_output_dir"})
    command = shlex.join([*program, *kept, "--resume_from_checkpoint", "last"])
    return f"interrupted; {found.name} and the checkpoints before it are complete. Resume with: {command}"


def _without(argv: list[str], names: set[str]) -> list[str]:
    """``argv`` without the flags ``names`` (either spelling, ``--flag value`` or ``--flag=value``)."""
    out, skip = [], False
    for token in argv:
        if skip:
            skip = False
            continue
        name, sep, _ = token.partition("=")
        if name.startswith("--") and name[2:].replace("-", "_") in names:
            skip = not sep
            continue
        out.append(token)
    return out


def run_recipe(
    main: Callable[..., Any],
    argv: Sequence[str] | None = None,
    *,
    default_config: str | Path | None = None,
) -> int:
    """Parse ``[--config RECIPE] [flags]`` (``default_config`` when no ``--config``) and call ``main``.

    Returns an exit status: 0; 2 after logging a user error (bad flag, missing data, ...) as one line; 130
    after Ctrl-C, with the command that resumes the run.
    """
    from hf_aidetect.training.config import parse_recipe_args

    configure_logging(logging.INFO)
    freeze_heap_at_exit()
    argv = list(sys.argv[1:] if argv is None else argv)
    output_dir = None
    try:
        script_args, training_args, model_args = parse_recipe_args(argv, config=default_config)
        output_dir = getattr(training_args, "output_dir", None)
        main(script_args, training_args, model_args)
    except AIDetectError as error:
        logger.error("%s", one_line(error))
        return 2
    except KeyboardInterrupt:
        if int(os.environ.get("RANK", "0")) == 0:  # one line, not one per process
            program = [os.path.basename(sys.executable), sys.argv[0]]
            advice = resume_advice(program, argv, output_dir) if output_dir else "interrupted"
            logger.error("%s", advice)
        return 130
    return 0
