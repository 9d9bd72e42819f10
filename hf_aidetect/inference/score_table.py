"""Per-image scores of one evaluation (clean and perturbed), kept as ``scores.csv`` beside the report.

The report is a pure function of this table and the decision threshold, so when the operating point of a
model moves later (``hf-aidetect evaluate ... --save-threshold``) the report of its own test split is
recomputed exactly, without its images: P(fake) shifts in logit space by the folded amount.
The CSV holds no file paths (it is uploaded with the model): ``row, label, source, fake_score`` and one
column per robustness perturbation (empty for rows outside the robustness subset).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hf_aidetect.inference.threshold import logit, sigmoid

_BASE_COLUMNS = ("row", "label", "source", "fake_score")


def shift_scores(scores: np.ndarray, shift: float) -> np.ndarray:
    """P(fake) of the same images after ``shift`` was subtracted from the fake logit margin."""
    if shift == 0.0:
        return np.asarray(scores, dtype=np.float64)
    return np.asarray(sigmoid(logit(np.asarray(scores, dtype=np.float64)) - shift), dtype=np.float64)


@dataclass
class ScoreTable:
    """Labels, P(fake) and sources of every evaluated image, plus perturbed scores of a subset."""

    labels: np.ndarray
    scores: np.ndarray
    sources: np.ndarray
    perturbed_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    perturbed: dict[str, np.ndarray] = field(default_factory=dict)

    def shifted(self, shift: float) -> ScoreTable:
        """The same table after folding a logit ``shift`` into the model."""
        return ScoreTable(
            self.labels,
            shift_scores(self.scores, shift),
            self.sources,
            self.perturbed_rows,
            {name: shift_scores(values, shift) for name, values in self.perturbed.items()},
        )

    def write_csv(self, path: str | Path) -> Path:
        path = Path(path)
        by_row = {
            name: dict(zip(self.perturbed_rows.tolist(), values.tolist()))
            for name, values in self.perturbed.items()
        }
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow([*_BASE_COLUMNS, *self.perturbed])
            for row in range(len(self.labels)):
                extra = [repr(by_row[name][row]) if row in by_row[name] else "" for name in self.perturbed]
                writer.writerow(
                    [row, int(self.labels[row]), self.sources[row], repr(float(self.scores[row])), *extra]
                )
        return path

    @classmethod
    def read_csv(cls, path: str | Path) -> ScoreTable:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            names = [name for name in reader.fieldnames or [] if name not in _BASE_COLUMNS]
            rows = list(reader)
        labels = np.array([int(row["label"]) for row in rows], dtype=np.int64)
        scores = np.array([float(row["fake_score"]) for row in rows], dtype=np.float64)
        sources = np.array([row["source"] for row in rows], dtype=object).astype(str)
        subset = np.array([i for i, row in enumerate(rows) if names and row[names[0]] != ""], dtype=np.int64)
        perturbed = {
            name: np.array([float(rows[i][name]) for i in subset], dtype=np.float64) for name in names
        }
        return cls(labels, scores, sources, subset, perturbed)
