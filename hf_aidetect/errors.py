"""Exceptions a user can act on. The CLI prints them as one line (no traceback) and exits with status 2."""

from __future__ import annotations


def one_line(error: BaseException) -> str:
    """The error's message on one line. An error re-raised from a data-loader worker keeps only the
    original message (torch puts the worker's whole traceback into the text)."""
    text = str(error).strip() or type(error).__name__
    if "Original Traceback" in text:
        last = [line for line in text.splitlines() if line.strip()][-1].strip()
        name, _, message = last.partition(": ")
        text = message if message and name.replace(".", "").isidentifier() else last
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


class AIDetectError(Exception):
    """Base class: the message names the file, flag or folder at fault and what to do."""


class DatasetLayoutError(AIDetectError, ValueError):
    """The data source is laid out in a way we cannot map to real=0 / fake=1 splits."""


class BadImageError(AIDetectError, ValueError):
    """An image file cannot be decoded (only raised when bad images are made fatal)."""


class ConfigError(AIDetectError, ValueError):
    """A recipe / YAML / CLI flag is unknown or has an invalid value."""


class HubError(AIDetectError, RuntimeError):
    """Talking to the Hub failed (auth, network, server error); the local output is left intact."""


class OutputError(AIDetectError):
    """An output cannot be written where asked (it would destroy an input, exists, is not writable, the
    disk is full); raised before the work where possible, and never after leaving a half-written file."""


class ModelFileError(AIDetectError, ValueError):
    """A model or checkpoint file is missing, cut off, or does not fit its ``config.json``."""
