"""Logging for the programs hf_aidetect ships (the CLI, the recipe scripts, a sweep point).

Only the ``hf_aidetect`` logger is set to the chosen level; the root logger stays at WARNING, so other
libraries' INFO records (``matplotlib.font_manager``, ``httpx``, ``PIL``) never reach the terminal, while
their warnings do. transformers and datasets keep their own verbosity (``--log_level`` in training).
"""

from __future__ import annotations

import logging

FORMAT = "%(levelname)s %(name)s: %(message)s"


def configure_logging(level: int = logging.INFO) -> None:
    """One stderr handler on the root logger (kept when one exists); ``hf_aidetect`` logs at ``level``."""
    logging.basicConfig(level=logging.WARNING, format=FORMAT)
    logging.getLogger("hf_aidetect").setLevel(level)
