"""The one markdown-table writer of the package (reports, cards, sweep and audit tables, the demo)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence


def _escape(text: str) -> str:
    """A cell on one line whose ``|`` does not end the cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    align: str = "",
    cell: Callable[[object], str] = str,
) -> str:
    """A GitHub-flavoured markdown table, without a trailing newline.

    ``align`` has one letter per column, ``l`` (default for missing letters) or ``r`` (numbers);
    ``cell`` turns each value into its text (``str`` by default; callers pass their number format).
    """
    letters = align.ljust(len(header), "l")
    lines = [
        "| " + " | ".join(_escape(str(name)) for name in header) + " |",
        "|" + "".join("---:|" if letter == "r" else "---|" for letter in letters[: len(header)]),
    ]
    lines += ["| " + " | ".join(_escape(cell(value)) for value in row) + " |" for row in rows]
    return "\n".join(lines)
