"""Issue 10's quality targets, judged from the case's run records (pure functions: no training here).

A run record is a dict with ``dataset``, ``model`` (``cnn`` / ``vit``), ``kind`` (``ours`` / ``stock``),
``status`` (``ok`` / ``failed``) and, when ok, ``test_accuracy``, ``test_roc_auc``, ``wall_s``; a
cross-generator record has ``held_out`` and ``test_average_precision`` instead of ``kind``.
"""

from __future__ import annotations

from typing import Any

Record = dict[str, Any]

MIN_ACCURACY = 0.98
MIN_GAP_POINTS = 5.0
BOTH_SATURATED = 0.995
MIN_HELD_OUT_AP = 0.95


def find(records: list[Record], dataset: str, model: str, kind: str) -> Record | None:
    """The ok record of (dataset, model, kind), or None when it failed or did not run."""
    for record in records:
        if (record["dataset"], record["model"], record["kind"]) == (dataset, model, kind):
            return record if record.get("status") == "ok" else None
    return None


def _row(name: str, measured: str, threshold: str, met: bool | None) -> dict[str, Any]:
    return {"target": name, "measured": measured, "threshold": threshold, "met": met}


def dataset_targets(
    records: list[Record], dataset: str, model: str = "cnn", shown_as: str | None = None
) -> list[dict[str, Any]]:
    """The three per-dataset targets for ``model``'s shipped recipe against the stock recipe.

    ``shown_as`` names the dataset in the target rows (default: its name). A failed or missing run makes
    its targets unmeasured (``met`` None), never met.
    """
    ours, stock = find(records, dataset, model, "ours"), find(records, dataset, model, "stock")
    label = f"{shown_as or dataset}: demo_{model}"
    rows = [
        _row(
            f"{label} test accuracy",
            "n/a" if ours is None else f"{ours['test_accuracy']:.3f}",
            f">= {MIN_ACCURACY}",
            None if ours is None else ours["test_accuracy"] >= MIN_ACCURACY,
        )
    ]
    if ours is None or stock is None:
        rows.append(_row(f"{label} vs stock accuracy", "n/a", "", None))
        rows.append(_row(f"{label} wall time vs stock", "n/a", "<= 1x", None))
        return rows
    gap = 100 * (ours["test_accuracy"] - stock["test_accuracy"])
    saturated = min(ours["test_accuracy"], stock["test_accuracy"]) >= BOTH_SATURATED
    rows.append(
        _row(
            f"{label} vs stock accuracy",
            f"{ours['test_accuracy']:.3f} vs {stock['test_accuracy']:.3f} ({gap:+.1f} points)",
            f">= +{MIN_GAP_POINTS:g} points, or both >= {BOTH_SATURATED}",
            gap >= MIN_GAP_POINTS or saturated,
        )
    )
    wall_ratio = ours["wall_s"] / stock["wall_s"]
    rows.append(
        _row(
            f"{label} wall time vs stock",
            f"{ours['wall_s']:.1f} s vs {stock['wall_s']:.1f} s ({wall_ratio:.2f}x)",
            "<= 1x",
            wall_ratio <= 1.0,
        )
    )
    return rows


def cross_targets(records: list[Record], model: str = "cnn") -> list[dict[str, Any]]:
    """AP >= 0.95 on each held-out family, plus the mean over the families that ran."""
    rows, values = [], []
    for record in (r for r in records if r["model"] == model):
        ok = record.get("status") == "ok"
        ap = record.get("test_average_precision") if ok else None
        if ap is not None:
            values.append(ap)
        rows.append(
            _row(
                f"{record['dataset']}: demo_{model} AP on held-out {record['held_out']}",
                "n/a" if ap is None else f"{ap:.3f}",
                f">= {MIN_HELD_OUT_AP}",
                None if ap is None else ap >= MIN_HELD_OUT_AP,
            )
        )
    if rows:
        mean = sum(values) / len(values) if values else None
        rows.append(
            _row(
                f"demo_{model} mean AP over {len(values)} held-out families",
                "n/a" if mean is None else f"{mean:.3f}",
                f">= {MIN_HELD_OUT_AP}",
                None if mean is None or len(values) < len(rows) else mean >= MIN_HELD_OUT_AP,
            )
        )
    return rows


def dataset_summary(records: list[Record], dataset: str, model: str) -> dict[str, Any]:
    """One summary row: ours vs stock accuracy gap (points) and wall-time ratio (ours / stock)."""
    ours, stock = find(records, dataset, model, "ours"), find(records, dataset, model, "stock")
    row: dict[str, Any] = {"dataset": dataset, "model": model}
    if ours is not None:
        row.update(ours_accuracy=ours["test_accuracy"], ours_roc_auc=ours.get("test_roc_auc"))
    if stock is not None:
        row.update(stock_accuracy=stock["test_accuracy"], stock_roc_auc=stock.get("test_roc_auc"))
    if ours is not None and stock is not None:
        row["gap_points"] = round(100 * (ours["test_accuracy"] - stock["test_accuracy"]), 1)
        row["wall_ours_over_stock"] = round(ours["wall_s"] / stock["wall_s"], 2)
    return row
