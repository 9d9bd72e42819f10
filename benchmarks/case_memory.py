"""Case e: peak RSS loading and iterating a 20k-image folder against a 2k-image one.

Each size runs in a fresh child process (``--child``) that loads the folder with
``load_detection_dataset`` (including its decode-validation pass), attaches the train transform and
iterates one epoch through a DataLoader; it reports its own peak RSS (``ru_maxrss``) per phase as JSON.
Images are tiny (32 px JPEGs, output 64 px) so the epoch is quick: what is measured is how memory
scales with the number of files, not with pixels.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import case_main, current_rss_mb, peak_rss_mb, ratio, write_jpeg_folder

OUTPUT_SIZE = 64


def child(root: Path, workers: int) -> dict[str, Any]:
    """Load, transform and iterate ``root``; peak RSS (MiB) after each phase."""
    import torch

    from hf_aidetect.data import load_detection_dataset
    from hf_aidetect.data.loader import KeyedSampler, collate_batches
    from hf_aidetect.data.preprocessing import AugmentConfig, InputSpec, create_transforms, prepare_splits

    torch.set_num_threads(1)
    out: dict[str, Any] = {"start_rss_mb": round(current_rss_mb(), 1)}
    t0 = time.perf_counter()
    splits = load_detection_dataset(root)
    out["load_s"] = round(time.perf_counter() - t0, 2)
    out["images"] = sum(len(d) for d in splits.values())
    out["peak_after_load_mb"] = round(peak_rss_mb(), 1)
    transforms = create_transforms(InputSpec(size=OUTPUT_SIZE), augment=AugmentConfig(), seed=0)
    train = prepare_splits(splits, transforms)["train"]
    loader = torch.utils.data.DataLoader(
        train,
        batch_size=64,
        sampler=KeyedSampler(len(train)),
        num_workers=workers,
        collate_fn=collate_batches,
    )
    t0 = time.perf_counter()
    seen = sum(len(batch["labels"]) for batch in loader)
    out["epoch_s"] = round(time.perf_counter() - t0, 2)
    out["iterated"] = seen
    out["peak_after_epoch_mb"] = round(peak_rss_mb(), 1)
    out["peak_children_mb"] = round(peak_rss_mb(include_children=True), 1)
    return out


def _measure(root: Path, workers: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.case_memory", "--child", str(root), "--workers", str(workers)]
    # A fresh HF_HOME per child: the data layer remembers validated datasets, and each run must pay it.
    env = {**os.environ, "HF_HOME": str(root.parent / f"hf_home_{root.name}_{workers}")}
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"memory child failed on {root}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(quick: bool, work: Path) -> dict[str, Any]:
    sizes = (500, 5000) if quick else (2000, 20000)
    rows = []
    for workers in (0, 2):
        for n in sizes:
            root = work / f"folder_{n}"
            if not root.exists():
                t0 = time.perf_counter()
                write_jpeg_folder(root, n, 32, distinct=256)
                print(f"wrote {n} JPEGs in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            rows.append({"files": n, "workers": workers, **_measure(root, workers)})
    by = {(r["files"], r["workers"]): r for r in rows}
    growth = ratio(by[(sizes[1], 0)]["peak_after_epoch_mb"], by[(sizes[0], 0)]["peak_after_epoch_mb"])
    growth_mb = round(by[(sizes[1], 0)]["peak_after_epoch_mb"] - by[(sizes[0], 0)]["peak_after_epoch_mb"], 1)
    met = growth is not None and growth <= 1.1
    return {
        "columns": [
            "files",
            "workers",
            "load_s",
            "epoch_s",
            "peak_after_load_mb",
            "peak_after_epoch_mb",
            "peak_children_mb",
        ],
        "rows": rows,
        "targets": [
            {
                "target": f"peak RSS flat from {sizes[0]:,} to {sizes[1]:,} images (main process, 0 workers)",
                "measured": f"{growth}x (+{growth_mb} MiB)",
                "threshold": "<= 1.1x",
                "met": met,
            }
        ],
        "notes": [
            f"32 px JPEGs in train/{{real,fake}}; load_detection_dataset (validates every file, splits "
            f"80/10/10); train transform to {OUTPUT_SIZE} px, batch 64, one epoch of the train split.",
            "peak_children_mb: the largest waited-for child (validation pool / DataLoader workers).",
        ],
    }


if __name__ == "__main__":
    if "--child" in sys.argv:
        parser = argparse.ArgumentParser()
        parser.add_argument("--child", type=Path, required=True)
        parser.add_argument("--workers", type=int, default=0)
        args = parser.parse_args()
        print(json.dumps(child(args.child, args.workers)))
        sys.exit(0)
    sys.exit(case_main("e", "Memory: peak RSS at 2k vs 20k images", run))
