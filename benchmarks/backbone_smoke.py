"""Quality-suite smoke rows for the backbones: every family x tuning mode, end to end, on a suite folder.

    python -m benchmarks.backbone_smoke --out runs/backbone_smoke            # the suite's cross128 set
    python -m benchmarks.backbone_smoke --suite tconv128,cross128 --full-size --out DIR
    python -m benchmarks.backbone_smoke DATA_DIR --out DIR [--families clip,dinov3_vit] [--modes full,lora]

The data is the quality suite's (``benchmarks/quality``, case f: generated generator families, JPEG
q70-95; built once and cached, at its quick sizes unless ``--full-size``) or any folder
``load_detection_dataset`` reads, fakes optionally in generator sub-folders
(``{train,valid,test}/{real,fake/<generator>}``). Each family's tiny twin (2 layers, width 32, **random
weights**: :mod:`hf_aidetect.models.backbones.twins`) is trained with each tuning mode through the same
``train()`` as every recipe, evaluation report included, and one row per run records the test figures
(accuracy, ROC-AUC, AP, TPR at 1 % FPR, AP per generator). These rows are **smoke rows**: they show that
the backbones and tuning modes run the whole suite path, not how well the real checkpoints detect
anything. Writes ``backbone_smoke.json`` and ``backbone_smoke.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.report import results_table

MODES = ("full", "linear_probe", "layernorm", "lora")
LABEL = "smoke (random-init twin)"
COLUMNS = ["dataset", "family", "mode", "rows", "trainable", "test accuracy", "test ROC-AUC", "test AP",
           "TPR @ 1% FPR", "per generator AP", "wall s"]  # fmt: skip


def _tpr_at(points: dict[str, Any], fpr: float) -> float | None:
    for row in points.get("tpr_at_fpr") or []:
        if abs(float(row.get("fpr", -1)) - fpr) < 1e-9:
            return row.get("tpr")
    return None


def run_one(data: Path, twin: Path, mode: str, out: Path, epochs: int, image_size: int) -> dict[str, Any]:
    """Train one twin with one tuning mode through ``train()``; the row of its test figures."""
    from hf_aidetect.training import parse_dict_args, train

    values = {
        "dataset": str(data), "output_dir": str(out), "model_name_or_path": str(twin), "tuning": mode,
        "image_size": image_size, "lora_r": 4, "num_train_epochs": epochs, "per_device_train_batch_size": 16,
        "per_device_eval_batch_size": 32, "learning_rate": 1e-3, "dataloader_num_workers": 0,
        "disable_tqdm": True, "channels_last": "false", "auto_bf16": False, "robustness_samples": 0,
        "write_model_card": True, "save_total_limit": 1, "report_to": "none", "seed": 0,
    }  # fmt: skip
    start = time.perf_counter()
    results = train(*parse_dict_args(values))
    report = json.loads((out / "evaluation" / "metrics.json").read_text())
    tuning = json.loads((out / "config.json").read_text())["tuning"]
    per_source = ", ".join(
        f"{row['source']} {row['average_precision']:.3f}"
        for row in report.get("per_source") or []
        if row.get("average_precision") is not None and row.get("num_fake")  # generators, not the reals
    )
    return {
        "rows": LABEL,
        "dataset": data.name,
        "family": twin.name,
        "mode": mode,
        "trainable": f"{tuning['trainable_parameters']:,} ({tuning['trainable_percent']:.3g} %)",
        "test accuracy": report["metrics"].get("accuracy", results.get("test_accuracy")),
        "test ROC-AUC": report["metrics"].get("roc_auc"),
        "test AP": report["metrics"].get("average_precision"),
        "TPR @ 1% FPR": _tpr_at(report.get("operating_points") or {}, 0.01),
        "per generator AP": per_source or "-",
        "wall s": round(time.perf_counter() - start, 1),
    }


def suite_datasets(names: Sequence[str], full_size: bool, seed: int = 0) -> list[Path]:
    """The quality suite's datasets (case f's generator and cache), quick sizes unless ``full_size``."""
    from benchmarks.case_quality import default_data_cache
    from benchmarks.quality.specs import quick_variant, resolve
    from benchmarks.quality.writer import build_dataset

    specs = resolve(list(names))
    return [
        build_dataset(spec if full_size else quick_variant(spec), seed, default_data_cache())
        for spec in specs
    ]


def run_suite(
    datasets: Sequence[Path],
    out: Path,
    families: Sequence[str],
    modes: Sequence[str] = MODES,
    epochs: int = 1,
    image_size: int = 32,
) -> list[dict[str, Any]]:
    """Every family x mode on every dataset; writes ``backbone_smoke.json`` / ``.md`` into ``out``."""
    from hf_aidetect.models.backbones.twins import write_twin

    rows = []
    for family in families:
        twin = write_twin(family, out / "twins" / family, image_size=image_size)
        for data in datasets:
            for mode in modes:
                run_dir = out / "runs" / f"{data.name}-{family}-{mode}"
                rows.append(run_one(data, twin, mode, run_dir, epochs, image_size))
                print(f"[backbone_smoke] {family} {mode}: AP {rows[-1]['test AP']}", file=sys.stderr)
    names = ", ".join(f"`{data.name}`" for data in datasets)
    (out / "backbone_smoke.json").write_text(json.dumps({"label": LABEL, "rows": rows}, indent=2) + "\n")
    text = (
        f"# Backbone smoke rows on {names}\n\nEvery row is a **{LABEL}**: the backbones have random "
        "weights, so the figures only show that each family and tuning mode runs the suite end to end.\n\n"
        + results_table(COLUMNS, rows)
        + "\n"
    )
    (out / "backbone_smoke.md").write_text(text)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    from hf_aidetect.models.backbones.twins import FAMILIES

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, nargs="*", help="dataset folders (default: the suite's, --suite)")
    parser.add_argument("--suite", default="cross128", help="quality-suite datasets when no folder is given")
    parser.add_argument("--full-size", action="store_true", help="the suite datasets at their full sizes")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--families", default=",".join(FAMILIES), help=f"comma-separated: {', '.join(FAMILIES)}"
    )
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--image-size", type=int, default=32)
    args = parser.parse_args(argv)
    families = [name for name in args.families.split(",") if name]
    unknown = sorted(set(families) - set(FAMILIES)) + sorted(set(args.modes.split(",")) - set(MODES))
    if unknown:
        parser.error(f"unknown families / modes {unknown}")
    datasets = args.data or suite_datasets([n for n in args.suite.split(",") if n], args.full_size)
    run_suite(datasets, args.out, families, args.modes.split(","), args.epochs, args.image_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
