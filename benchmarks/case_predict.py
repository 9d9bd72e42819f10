"""Case c: ``predict`` throughput (files -> rows) against the model's raw batched forward on tensors.

The raw figure is the ceiling: the same model, batch size and device, fed tensors that were decoded and
preprocessed beforehand. ``predict`` has to decode the files too (in DataLoader workers, overlapped with
the forward pass), so on a GPU or with a heavy model it should get close to the ceiling.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import case_main, list_images, ratio, target, write_jpeg_folder
from benchmarks.models import SPECS

BATCH = 32


def _raw_forward(detector: Any, paths: list[Path]) -> tuple[float, int]:
    """Best images/s of ``model(pixel_values)`` on batches preprocessed up front, over thread counts.

    Tried with 1 thread and with all cores (on a busy CPU, more threads can be slower); one warm-up batch.
    Returns (images/s, threads of the best run).
    """
    import torch

    from benchmarks.common import usable_cores

    batches = [
        detector.transform({"image": [str(p) for p in paths[i : i + BATCH]]})["pixel_values"]
        for i in range(0, len(paths), BATCH)
    ]
    batches = [b.to(detector.device) for b in batches]
    sync = torch.cuda.synchronize if detector.device.type == "cuda" else (lambda: None)
    before, best = torch.get_num_threads(), (0.0, 1)
    for threads in sorted({1, usable_cores()}) if detector.device.type == "cpu" else [before]:
        torch.set_num_threads(threads)
        with torch.inference_mode():
            detector.model(pixel_values=batches[0])
            sync()
            start = time.perf_counter()
            for batch in batches:
                detector.model(pixel_values=batch).logits.softmax(-1)
            sync()
        best = max(best, (len(paths) / (time.perf_counter() - start), threads))
    torch.set_num_threads(before)
    return best


def _predict(detector: Any, paths: list[Path]) -> float:
    """images/s of ``predict_files`` end to end (decode workers + forward), after one warm-up batch."""
    from hf_aidetect.inference.predict import predict_files

    list(predict_files(detector, paths[:BATCH], batch_size=BATCH, progress=False))
    start = time.perf_counter()
    rows = list(predict_files(detector, paths, batch_size=BATCH, progress=False))
    seconds = time.perf_counter() - start
    assert len(rows) == len(paths) and not any(r.error for r in rows)
    return len(paths) / seconds


def run(quick: bool, work: Path) -> dict[str, Any]:
    from benchmarks.models import build
    from hf_aidetect.inference.loading import load_detector
    from hf_aidetect.inference.predict import decode_workers

    device = os.environ.get("BENCH_DEVICE", "cpu")
    counts = {"cnn224": 96, "vit_small": 64} if quick else {"cnn224": 512, "vit_small": 128}
    if device == "cuda" and not quick:  # on CPU ViT-B/16 is forward-bound at ~2 images/s: nothing to learn
        counts.update(cnn224=4096, vit_small=2048, vit_b16=1024)
    root = write_jpeg_folder(work / "jpeg256", max(counts.values()), 256, distinct=256)
    all_paths = list_images(root)
    rows, targets = [], []
    for name, count in counts.items():
        model, processor = build(name, attn_implementation="sdpa")
        folder = work / f"model_{name}"
        model.save_pretrained(folder)
        processor.save_pretrained(folder)
        detector = load_detector(folder, device=device)
        paths = all_paths[:count]
        raw, raw_threads = _raw_forward(detector, paths)
        pred = _predict(detector, paths)
        rows.append(
            {
                "model": SPECS[name]["label"],
                "device": device,
                "images": count,
                "decode workers": decode_workers(count, BATCH),
                "raw forward images/s": round(raw, 1),
                "raw threads": raw_threads,
                "predict images/s": round(pred, 1),
                "predict / raw": ratio(pred, raw),
            }
        )
        targets.append(
            target(f"predict vs raw batched forward, {SPECS[name]['label']}", ratio(pred, raw), 0.9)
        )
    return {
        "columns": [
            "model",
            "device",
            "images",
            "decode workers",
            "raw forward images/s",
            "raw threads",
            "predict images/s",
            "predict / raw",
        ],
        "rows": rows,
        "targets": targets,
        "notes": [
            f"256 px JPEGs, batch {BATCH}; models built from configs (random weights: speed does not "
            "depend on them), saved, then loaded with load_detector like a user's model.",
            "Raw = model forward + softmax on tensors preprocessed up front, best of 1 thread and all cores; "
            "predict = predict_files on the files (decode in workers, forward in the main process, which "
            "gives itself the cores the workers leave); both after a warm-up batch.",
            "ViT-B/16 runs here only on CUDA: on CPU its forward (~2 images/s) hides any data-path cost.",
        ],
    }


if __name__ == "__main__":
    sys.exit(case_main("c", "predict throughput vs raw batched forward", run))
