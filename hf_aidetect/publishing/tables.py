"""Number formatting of the model card, and its tables (written by :mod:`hf_aidetect.markdown`)."""

from __future__ import annotations

from typing import Any

from hf_aidetect.markdown import markdown_table


def metric(value: Any) -> float:
    return round(float(value), 4)


def fmt(value: Any) -> str:
    """Table cell: ints (and int-like CSV strings) as is, floats with 4 decimals (tiny ones in %g)."""
    if isinstance(value, int):  # bool included
        return str(value)
    if isinstance(value, str):
        try:
            value = int(value) if value.lstrip("-").isdigit() else float(value)
        except ValueError:
            return value
        return fmt(value)
    if isinstance(value, float):
        return f"{value:.4g}" if 0 < abs(value) < 1e-3 else f"{value:.4f}"
    return str(value)


def plain(value: Any) -> str:
    """Hyperparameter values: shortest faithful form (0.01, 5e-05, 8, adamw_torch)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def card_table(header: list[str], rows: list[list[Any]]) -> str:
    """A card table with :func:`fmt` cells; empty (the section is left out) when there are no rows."""
    return markdown_table(header, rows, cell=fmt) if rows else ""
