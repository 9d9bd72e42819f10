"""Number formatting and markdown tables shared by the model card modules."""

from __future__ import annotations

from typing import Any


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


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    """A GitHub-flavoured markdown table (empty string when there are no rows)."""
    if not rows:
        return ""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
