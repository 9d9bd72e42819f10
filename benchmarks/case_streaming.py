"""Case s: streaming vs map-style from the same local Parquet shards (the ``hf-aidetect pack`` layout).

Rows:

* **throughput** -- images/s through the training loader, at 0 / 2 / N workers and two sizes (72 px JPEGs
  -> 64 px inputs, 256 px -> 224 px): map-style = ``load_dataset(SHARDS)`` (Arrow, memory-mapped) ->
  ``PreprocessedSplit`` + ``KeyedSampler``; streaming = ``open_stream_source(SHARDS)`` -> ``StreamingSplit``
  (block shuffle 1000) -> torchdata's ``StatefulDataLoader`` (what ``--streaming`` trains with: worker
  positions sent every ``snapshot_interval`` batches, no sample ids without ``--log_sample_ids``). Both run
  the same train transform (native crops, flips); timed from the first batch, best of the repeats.
* **memory and first batch** -- a fresh process per mode and size streams (or loads and iterates) 20k
  and 200k small images (32 px) once; its peak RSS and the time from opening the data to the first batch.

The shards are written directly (a few distinct JPEG encodings repeated, distinct ids), so the 200k run
costs about 150 MB of disk and seconds to write.
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

from benchmarks.common import case_main, hwm_rss_mb, jpeg_variants, ratio, target, usable_cores

BATCH = 32
# (JPEG side, model input side, images per timed run): runs of several seconds, long enough that a
# worker's reads of its next shuffle block and shard average out (4,000 images at 64 px took 0.6 s, and
# one such read in it moved the ratio by 10 %).
SIZES = ((72, 64, 24000), (256, 224, 8000))
SHUFFLE_BUFFER = 1000
SHARD_ROWS = 2500
CHECKPOINT_BATCHES = 500  # a checkpoint every 500 steps: what the worker snapshot interval is chosen from


def write_shards(
    folder: Path, n_images: int, side: int, distinct: int = 64, shard_rows: int = SHARD_ROWS
) -> Path:
    """``folder/data/train-*.parquet`` in the pack schema: ``n_images`` rows, half real, half fake."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hf_aidetect.data.pack import PACK_FEATURES

    if (folder / "done").is_file():
        return folder
    blobs = jpeg_variants(min(distinct, n_images), side)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    count = -(-n_images // shard_rows)
    for shard in range(count):
        start, stop = shard * shard_rows, min(n_images, (shard + 1) * shard_rows)
        rows = {
            "image": [{"bytes": blobs[i % len(blobs)], "path": f"{i}.jpg"} for i in range(start, stop)],
            "label": [i % 2 for i in range(start, stop)],
            "source": [""] * (stop - start),
            "split": ["train"] * (stop - start),
            "id": list(range(start, stop)),
        }
        table = pa.Table.from_pydict(rows, schema=PACK_FEATURES.arrow_schema)
        pq.write_table(
            table, folder / "data" / f"train-{shard:05d}-of-{count:05d}.parquet", row_group_size=1000
        )
    (folder / "done").write_text("ok")
    return folder


def _transforms(size: int) -> Any:
    from hf_aidetect.data.preprocessing import AugmentConfig, InputSpec, create_transforms

    return create_transforms(InputSpec(size=size), augment=AugmentConfig(), seed=0)


def stream_loader(shards: Path, size: int, workers: int) -> Any:
    """The loader ``--streaming`` trains with, over ``shards``."""
    import warnings

    from torchdata.stateful_dataloader import StatefulDataLoader

    from hf_aidetect.data.streaming import StreamingSplit, normalise_stream, open_stream_source
    from hf_aidetect.training.stream_state import snapshot_interval

    source = open_stream_source(shards)
    rows = normalise_stream(source.stream("train"), origin=source.where("train"))
    split = StreamingSplit(rows, _transforms(size).train, shuffle_buffer=SHUFFLE_BUFFER).for_node(
        0, 1, workers
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return StatefulDataLoader(
            split,
            BATCH,
            collate_fn=split.collator(sample_ids=False),
            num_workers=workers,
            prefetch_factor=2 if workers else None,
            snapshot_every_n_steps=snapshot_interval(CHECKPOINT_BATCHES),
        )


def map_loader(shards: Path, size: int, workers: int) -> Any:
    """The map-style loader of the same shards (``DetectionTrainer``'s: whole batches, keyed sampler)."""
    import datasets
    import torch

    from hf_aidetect.data.loader import KeyedSampler, collate_batches
    from hf_aidetect.data.preprocessing import prepare_splits

    train = datasets.load_dataset(str(shards), split="train")
    split = prepare_splits(datasets.DatasetDict(train=train), _transforms(size))["train"]
    return torch.utils.data.DataLoader(
        split,
        BATCH,
        sampler=KeyedSampler(len(split), seed=0),
        collate_fn=collate_batches,
        num_workers=workers,
        prefetch_factor=2 if workers else None,
    )


def _cpu_seconds() -> dict[int, float]:
    """CPU seconds (user + system) used so far by this process and by each of its children (the loader
    workers), from ``/proc``: the work done, whatever else the machine runs meanwhile."""
    tick = os.sysconf("SC_CLK_TCK")
    me, out = os.getpid(), {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == me or int(fields[1]) == me:  # fields[1]: the parent pid
            out[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _iterate(loader: Any, limit: int) -> tuple[int, float, float, float]:
    """(images after the first batch, their wall seconds, their CPU seconds over the process and its loader
    workers, seconds to the first batch) over ``limit`` images."""
    start = time.perf_counter()
    batches = iter(loader)
    seen = len(next(batches)["labels"])
    first = time.perf_counter() - start
    cpu_before = _cpu_seconds()
    start, count = time.perf_counter(), 0
    while seen < limit:
        size = len(next(batches)["labels"])
        seen, count = seen + size, count + size
    wall = time.perf_counter() - start
    cpu_after = _cpu_seconds()
    cpu = sum(used - cpu_before.get(pid, 0.0) for pid, used in cpu_after.items())
    return count, wall, cpu, first


def child(mode: str, shards: Path, size: int, workers: int, limit: int) -> dict[str, Any]:
    """One mode over ``shards`` in this process: images/s, first batch, peak RSS."""
    import datasets  # noqa: F401 -- imports before the clock starts: first_batch_s times the data only
    import torch
    import torchdata.stateful_dataloader  # noqa: F401

    import hf_aidetect.data.preprocessing
    import hf_aidetect.data.streaming  # noqa: F401

    torch.set_num_threads(1)
    start = time.perf_counter()
    loader = (stream_loader if mode == "stream" else map_loader)(shards, size, workers)
    setup = time.perf_counter() - start
    count, seconds, cpu, first = _iterate(loader, limit)
    return {
        "images/s": round(count / seconds, 1),
        "images/cpu-s": round(count / max(cpu, 1e-9), 1),
        "first_batch_s": round(setup + first, 2),
        "peak_rss_mb": round(hwm_rss_mb(), 1),
    }


def _measure(mode: str, shards: Path, size: int, workers: int, limit: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.case_streaming", "--child", mode, str(shards)]
    command += ["--size", str(size), "--workers", str(workers), "--limit", str(limit)]
    env = {**os.environ, "HF_DATASETS_CACHE": str(shards.parent / f"cache_{shards.name}")}
    proc = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} child failed on {shards}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _throughput(work: Path, quick: bool, cores: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    repeats = 1 if quick else 5
    rows, targets = [], []
    for side, size, n_images in SIZES:  # 4 equal shards: 2 loader workers get 2 each
        n_images = 640 if quick else n_images
        shards = write_shards(work / f"shards_{side}px_{n_images}", n_images, side, shard_rows=n_images // 4)
        for workers in sorted({0, 2, cores}):
            best: dict[tuple[str, str], float] = {}
            for _ in range(repeats):  # round robin: both modes see the same moments of a shared machine
                for mode in ("map", "stream"):
                    measured = _measure(mode, shards, size, workers, n_images)
                    for unit in ("images/s", "images/cpu-s"):
                        best[mode, unit] = max(best.get((mode, unit), 0.0), measured[unit])
            wall = ratio(best["stream", "images/s"], best["map", "images/s"])
            cpu = ratio(best["stream", "images/cpu-s"], best["map", "images/cpu-s"])
            rows.append(
                {
                    "input": f"{side} px JPEG -> {size} px",
                    "workers": workers,
                    "map-style images/s": best["map", "images/s"],
                    "streaming images/s": best["stream", "images/s"],
                    "streaming vs map-style (wall)": wall,
                    "map-style images/cpu-s": best["map", "images/cpu-s"],
                    "streaming images/cpu-s": best["stream", "images/cpu-s"],
                    "streaming vs map-style (CPU)": cpu,
                }
            )
            name = f"streaming vs map-style, {size} px, {workers} workers"
            targets.append(target(f"{name} (images/s, best of the interleaved runs)", wall, 0.9))
            targets.append(target(f"{name} (images per CPU-second)", cpu, 0.9))
    return rows, targets


def _memory(work: Path, quick: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    sizes = (2000, 20000) if quick else (20000, 200000)
    rows = []
    for n in sizes:
        shards = write_shards(work / f"shards_32px_{n}", n, 32, distinct=256)
        for mode in ("stream", "map"):
            rows.append({"mode": mode, "images": n, "workers": 0, **_measure(mode, shards, 32, 0, n)})
    by = {(r["mode"], r["images"]): r for r in rows}
    small, large = by[("stream", sizes[0])], by[("stream", sizes[1])]
    growth = ratio(large["peak_rss_mb"], small["peak_rss_mb"])
    targets = [
        {
            "target": f"streaming peak RSS flat from {sizes[0]:,} to {sizes[1]:,} images (0 workers)",
            "measured": f"{growth}x (+{round(large['peak_rss_mb'] - small['peak_rss_mb'], 1)} MiB)",
            "threshold": "<= 1.1x",
            "met": growth is not None and growth <= 1.1,
        },
        {
            "target": f"streaming time to the first batch, {sizes[1]:,} images",
            "measured": f"{large['first_batch_s']} s",
            "threshold": "< 5 s",
            "met": large["first_batch_s"] < 5.0,
        },
    ]
    return rows, targets


def run(quick: bool, work: Path) -> dict[str, Any]:
    from hf_aidetect.training.stream_state import snapshot_interval

    cores = usable_cores()
    interval = snapshot_interval(CHECKPOINT_BATCHES)
    speed_rows, speed_targets = _throughput(work, quick, cores)
    memory_rows, memory_targets = _memory(work, quick)
    return {
        "columns": [
            "input",
            "workers",
            "map-style images/s",
            "streaming images/s",
            "streaming vs map-style (wall)",
            "map-style images/cpu-s",
            "streaming images/cpu-s",
            "streaming vs map-style (CPU)",
        ],
        "rows": speed_rows,
        "tables": [
            {
                "title": "Peak RSS and time to the first batch (a fresh process per row, 32 px JPEGs)",
                "columns": ["mode", "images", "workers", "first_batch_s", "images/s", "peak_rss_mb"],
                "rows": memory_rows,
            }
        ],
        "targets": speed_targets + memory_targets,
        "notes": [
            f"Local Parquet shards (throughput: 4 equal shards; memory: {SHARD_ROWS} rows each; row groups "
            f"of 1000), best of 5 interleaved runs (1 with --quick), batch {BATCH}, torch threads 1 "
            f"per process, {cores} cores; the train transform (native crops, flips); streaming with a "
            f"{SHUFFLE_BUFFER}-row shuffle block, worker positions sent every "
            f"{interval} batches (a checkpoint every {CHECKPOINT_BATCHES} steps; torchdata's "
            "default of every batch cost 8-10 % of the images/s at 64 px on 2 workers), no sample ids. Each "
            "measurement is a fresh process.",
            "first_batch_s: from opening the data (after imports) to the first batch in hand. Map-style "
            "includes load_dataset's one-time conversion of the shards to Arrow; streaming reads nothing "
            "ahead.",
            "images/cpu-s: images per CPU-second of the measuring process and its loader workers (user + "
            "system time from /proc). On a shared machine the load moves wall-clock rates by up to 3x "
            "between runs minutes apart, far more than the 10 % the target resolves; CPU-seconds move less "
            "(about +-10 % on 2 busy vCPUs), so each size and worker count has two targets: the issue's "
            "images/s (best of the interleaved runs) and images per CPU-second. Read them on an idle "
            "machine.",
            f"workers: 0, 2 and N = the usable cores ({cores} here, so N coincides with 2).",
            "peak_rss_mb: the measuring process's high-water mark (VmHWM; ru_maxrss would report at least "
            "the launching process's peak); with 0 workers it does all the loading.",
        ],
    }


if __name__ == "__main__":
    if "--child" in sys.argv:
        parser = argparse.ArgumentParser()
        parser.add_argument("--child", choices=["stream", "map"], required=True)
        parser.add_argument("shards", type=Path)
        parser.add_argument("--size", type=int, required=True)
        parser.add_argument("--workers", type=int, default=0)
        parser.add_argument("--limit", type=int, required=True)
        args = parser.parse_args()
        print(json.dumps(child(args.child, args.shards, args.size, args.workers, args.limit)))
        sys.exit(0)
    sys.exit(case_main("s", "Streaming vs map-style from local shards: images/s, peak RSS, first batch", run))
