"""hf_aidetect.markdown: the one table writer (alignment, cell formatting, escaping)."""

from __future__ import annotations

from hf_aidetect.markdown import markdown_table


def test_alignment_cells_and_escaping() -> None:
    table = markdown_table(["name", "value", "note"], [["a|b", 0.5, "two\nlines"], ["c", 2, ""]], align="lr")
    assert table.splitlines() == [
        "| name | value | note |",
        "|---|---:|---|",
        "| a\\|b | 0.5 | two lines |",
        "| c | 2 |  |",
    ]


def test_custom_cell_format_and_no_rows() -> None:
    assert markdown_table(["x"], [[1 / 3]], cell=lambda value: f"{value:.2f}").splitlines()[-1] == "| 0.33 |"
    assert markdown_table(["x", "y"], [], align="rr") == "| x | y |\n|---:|---:|"
