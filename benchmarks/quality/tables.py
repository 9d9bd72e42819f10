"""Case f's result JSON: run records turned into tables, targets and notes for ``benchmarks/report.py``."""

from __future__ import annotations

from typing import Any

from benchmarks.quality.specs import role
from benchmarks.quality.targets import cross_targets, dataset_summary, dataset_targets

Record = dict[str, Any]

RUN_COLUMNS = ["recipe", "model", "input px", "test_accuracy", "test_roc_auc", "wall_s", "cpu_s", "train_s",
               "status"]  # fmt: skip
SUMMARY_COLUMNS = ["dataset", "role", "model", "ours acc", "stock acc", "gap (points)", "ours ROC-AUC",
                   "stock ROC-AUC", "wall ours / stock"]  # fmt: skip
CROSS_COLUMNS = ["held-out family", "model", "test_accuracy", "AP", "smoothness AP", "test_roc_auc", "wall_s",
                 "status"]  # fmt: skip


def _status(record: Record) -> str:
    return "ok" if record.get("status") == "ok" else f"failed: {record.get('error')}"


def run_row(record: Record) -> dict[str, Any]:
    name = record["recipe"] if record["kind"] == "stock" else f"ours: {record['recipe']}"
    return {
        "recipe": name, "model": record["model"], "input px": record.get("input_px"),
        "test_accuracy": record.get("test_accuracy"), "test_roc_auc": record.get("test_roc_auc"),
        "wall_s": record.get("wall_s"), "cpu_s": record.get("cpu_s"),
        "train_s": record.get("train_runtime_s"), "status": _status(record),
    }  # fmt: skip


def summary_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "dataset": row["dataset"], "role": role(row["dataset"]), "model": row["model"],
        "ours acc": row.get("ours_accuracy"),
        "stock acc": row.get("stock_accuracy"), "gap (points)": row.get("gap_points"),
        "ours ROC-AUC": row.get("ours_roc_auc"), "stock ROC-AUC": row.get("stock_roc_auc"),
        "wall ours / stock": row.get("wall_ours_over_stock"),
    }  # fmt: skip


def cross_rows(records: list[Record]) -> list[dict[str, Any]]:
    """One row per (held-out family, model), then a mean row per model over its ok runs."""
    rows = [
        {"held-out family": r["held_out"], "model": r["model"], "test_accuracy": r.get("test_accuracy"),
         "AP": r.get("test_average_precision"), "smoothness AP": r.get("smoothness_ap"),
         "test_roc_auc": r.get("test_roc_auc"),
         "wall_s": r.get("wall_s"), "status": _status(r)}
        for r in records
    ]  # fmt: skip
    for model in dict.fromkeys(r["model"] for r in records):
        ok = [r for r in records if r["model"] == model and r.get("status") == "ok"]
        if not ok:
            continue
        mean = {key: sum(r[key] for r in ok) / len(ok) for key in ("test_accuracy", "test_average_precision")}
        rows.append({"held-out family": f"mean over {len(ok)}", "model": model,
                     "test_accuracy": mean["test_accuracy"], "AP": mean["test_average_precision"],
                     "status": "ok"})  # fmt: skip
    return rows


def _tables(records: list[Record], cross: list[Record], datasets: list[Record]) -> list[dict[str, Any]]:
    names = list(dict.fromkeys(r["dataset"] for r in records))
    models = list(dict.fromkeys(r["model"] for r in records))
    spec_of = {d["dataset"]: d["spec"] for d in datasets}
    tables = [{
        "title": "Suite datasets",
        "columns": ["dataset", "spec", "description", "ready_s"],
        "rows": datasets,
        "notes": ["ready_s: generation time, or ~0 when the dataset was cached from an earlier run."],
    }]  # fmt: skip
    if records:
        summary = [summary_row(dataset_summary(records, n, m)) for n in names for m in models]
        tables.append({"title": "Ours vs stock, per dataset", "columns": SUMMARY_COLUMNS, "rows": summary})
    for name in names:
        rows = [run_row(r) for r in records if r["dataset"] == name]
        tables.append({"title": f"{name}: {spec_of.get(name, '')}", "columns": RUN_COLUMNS, "rows": rows})
    if cross:
        name = cross[0]["dataset"]
        tables.append({
            "title": f"Cross-generator: {name} ({spec_of.get(name, '')}), one family left out at a time",
            "columns": CROSS_COLUMNS, "rows": cross_rows(cross),
            "notes": ["Train and valid hold the other families' fakes and all reals; test = the test reals + "
                      "the held-out family's test fakes. AP: average precision of P(fake), fake positive.",
                      "smoothness AP: the AP of a training-free score on the same test images (minus the log "
                      "variance of the Laplacian: every suite fake is smoother than the reals); a detector "
                      "near it transferred little more than that cue (benchmarks/quality/smoothness.py)."],
        })  # fmt: skip
    return tables


def render_result(
    records: list[Record], cross: list[Record], datasets: list[Record], settings: dict[str, Any], quick: bool
) -> dict[str, Any]:
    """The case's JSON body: raw records, tables, the issue's targets (demo_cnn) and notes."""
    names = list(dict.fromkeys(r["dataset"] for r in records))
    shown = {name: f"{name} (check set)" if role(name) == "check" else name for name in names}
    targets = [t for name in names for t in dataset_targets(records, name, "cnn", shown[name])]
    targets += cross_targets(cross, "cnn")
    recipes = "; ".join(
        f"{model}: {s['recipe']} ({s['input_px']} px input, {s['epochs']:g} epoch(s)"
        + (f", extra flags {' '.join(s['extra_args'])}" if s["extra_args"] else "")
        + ")"
        for model, s in settings.items()
    )
    notes = [
        f"Recipes: {recipes}. Ours runs as `hf-aidetect train --config RECIPE --dataset D --output_dir O`, "
        "as shipped (its evaluation report included); the stock recipe (imagefolder + AutoImageProcessor + "
        "Trainer) starts from the same initial weights with the same epochs, batch size, learning rate, "
        "weight decay, optimizer, schedule and seed, and its image processor resizes to the recipe's input.",
        "wall_s: the whole training subprocess, imports and data loading included; train_s: the Trainer's "
        "train_runtime; cpu_s: user + system CPU seconds of the run and its workers (less sensitive to other "
        "load on a shared machine). Runs are sequential: stock first, then ours, per dataset and model.",
        "Targets apply to demo_cnn (issue 10): test accuracy >= 0.98 on every dataset, >= 5 points over "
        "stock or both >= 0.995, wall time <= stock's; AP >= 0.95 on each held-out family.",
        "role: suite = the recipe defaults were chosen on it; check = added only after they were fixed "
        "(other sizes, a 4x up-sampler, heavier JPEG), never tuned on: whether the defaults carry over.",
    ]
    if quick:
        notes.append("Quick run: smoke-test sizes and 1 epoch; these numbers mean nothing.")
    return {
        "columns": [], "rows": [], "tables": _tables(records, cross, datasets), "targets": targets,
        "notes": notes, "records": records, "cross_records": cross, "datasets": datasets,
        "settings": settings,
    }  # fmt: skip
