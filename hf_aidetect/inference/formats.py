"""Write prediction rows (path, label, fake_score, error) as CSV, JSON Lines or an aligned text table.

CSV and JSONL are streamed row by row (useful for large folders and pipes); the table needs every row
first to size its columns. In CSV and the table, an error row has empty ``label`` and ``fake_score``; in
JSONL they are ``null``. ``error`` is the empty string when the file was fine.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import TextIO

from hf_aidetect.inference.predict import PredictionRow

COLUMNS = ("path", "label", "fake_score", "error")
UNSURE_COLUMNS = ("decision", "unsure_reason")  # added by ``predict --unsure``
FORMATS = ("csv", "jsonl", "table")


def _score_text(score: float | None) -> str:
    return "" if score is None else f"{score:.6f}"


def _extra(row: PredictionRow, unsure: bool) -> list[str]:
    return [row.decision or "", row.unsure_reason or ""] if unsure else []


def write_csv(rows: Iterable[PredictionRow], stream: TextIO, unsure: bool = False) -> Iterator[PredictionRow]:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([*COLUMNS, *(UNSURE_COLUMNS if unsure else ())])
    for row in rows:
        writer.writerow(
            [row.path, row.label or "", _score_text(row.fake_score), row.error, *_extra(row, unsure)]
        )
        stream.flush()
        yield row


def write_jsonl(
    rows: Iterable[PredictionRow], stream: TextIO, unsure: bool = False
) -> Iterator[PredictionRow]:
    for row in rows:
        stream.write(json.dumps(row.to_dict(), ensure_ascii=False) + "\n")
        stream.flush()
        yield row


def write_table(
    rows: Iterable[PredictionRow], stream: TextIO, unsure: bool = False
) -> Iterator[PredictionRow]:
    collected = list(rows)
    columns = (*COLUMNS, *(UNSURE_COLUMNS if unsure else ()))
    cells = [
        [r.path, r.label or "-", _score_text(r.fake_score) or "-", r.error, *_extra(r, unsure)]
        for r in collected
    ]
    widths = [max([len(name), *(len(c[i]) for c in cells)]) for i, name in enumerate(columns)]
    right = {2}  # numbers align right

    def line(values: list[str] | tuple[str, ...]) -> str:
        parts = [v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths))]
        return "  ".join(parts).rstrip() + "\n"

    stream.write(line(columns))
    stream.write(line(["-" * w for w in widths]))
    for values in cells:
        stream.write(line(values))
    yield from collected


def write_rows(
    rows: Iterable[PredictionRow], stream: TextIO, fmt: str, unsure: bool = False
) -> Iterator[PredictionRow]:
    """Write ``rows`` to ``stream`` in ``fmt`` and pass each row through (for counting / exit status).

    ``unsure``: add the ``decision`` and ``unsure_reason`` columns of ``predict --unsure``.
    """
    writers = {"csv": write_csv, "jsonl": write_jsonl, "table": write_table}
    if fmt not in writers:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return writers[fmt](rows, stream, unsure)
