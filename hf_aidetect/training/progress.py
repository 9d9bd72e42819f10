"""What a training run says while it runs: numbers with a sane number of digits."""

from __future__ import annotations


def format_metric(value: float | None) -> str:
    """A metric for a log line, to four significant digits (``0.00047``, not ``0.00047000034828670323``)."""
    return "none" if value is None else f"{value:.4g}"
