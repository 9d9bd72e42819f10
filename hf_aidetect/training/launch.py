"""Glue shared by the recipe scripts and ``hf-aidetect train``: parse, set up logging, run, report."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hf_aidetect._shutdown import freeze_heap_at_exit
from hf_aidetect.errors import AIDetectError

logger = logging.getLogger("hf_aidetect")


def run_recipe(
    main: Callable[..., Any],
    argv: Sequence[str] | None = None,
    *,
    default_config: str | Path | None = None,
) -> int:
    """Parse ``[--config FILE] [flags]`` (``default_config`` when no ``--config``) and call ``main``.

    Returns an exit status: 0, or 2 after logging a user error (bad flag, missing data, ...) as one line.
    """
    from hf_aidetect.training.config import parse_recipe_args

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    freeze_heap_at_exit()
    try:
        main(*parse_recipe_args(argv, config=default_config))
    except AIDetectError as error:
        logger.error("%s", error)
        return 2
    return 0
