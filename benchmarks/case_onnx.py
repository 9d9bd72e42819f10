"""Case h: onnxruntime against PyTorch on CPU, batch 1 and batch 32, for the seed CNN and a ViT.

Each model is built from its config, saved, then exported with ``hf-aidetect export``'s own code (the
parity proof runs as in a user's export; int8 too, measured on synthetic labels only for speed). Timing is
the forward pass on preprocessed ``pixel_values`` (decode and crop are the same code on both backends),
median of repeated runs after a warm-up, with both runtimes given all usable cores.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import case_main, ratio, usable_cores
from benchmarks.models import SPECS

BATCHES = (1, 32)


def _interleaved_ms(runs: dict[str, Any], repeats: int) -> dict[str, float]:
    """Median ms per call of each runner, timed in turns (a, b, c, a, b, c, ...) after one warm-up each,
    so load from other processes on a shared machine falls on every runner alike."""
    for run in runs.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(values) for name, values in times.items()}


def _export(name: str, work: Path) -> tuple[Path, dict[str, Any]]:
    from benchmarks.models import build
    from hf_aidetect.deploy.onnx_export import export_onnx, quantize_int8

    model, processor = build(name, attn_implementation="sdpa")
    folder = work / f"model_{name}"
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    start = time.perf_counter()
    out, report = export_onnx(folder, overwrite=True)
    report["export_s"] = round(time.perf_counter() - start, 1)
    quantize_int8(out / "model.onnx", out / "model_quantized.onnx")
    return folder, report


def _time_model(name: str, work: Path, repeats: dict[int, int]) -> list[dict[str, Any]]:
    """Rows for one model; each runtime's best over 1 thread and all usable cores (as case c: on a busy
    CPU, torch's intra-op threads can spin far slower than one thread)."""
    import torch

    from hf_aidetect.deploy.onnx_detector import create_session
    from hf_aidetect.inference.loading import load_detector

    folder, report = _export(name, work)
    detector = load_detector(folder, device="cpu")
    side = detector.transform.spec.size
    files = {"fp32": "model.onnx", "int8": "model_quantized.onnx"}
    rows = []
    for batch in BATCHES:
        pixels = torch.randn(batch, 3, side, side, generator=torch.Generator().manual_seed(batch))
        feed = {"pixel_values": pixels.numpy()}

        def torch_forward(pixels: torch.Tensor = pixels) -> None:
            with torch.inference_mode():
                detector.model(pixel_values=pixels).logits.softmax(-1)

        best: dict[str, tuple[float, int]] = {}
        for threads in sorted({1, usable_cores()}):
            torch.set_num_threads(threads)
            runners = {"torch": torch_forward}
            for kind, file in files.items():
                session = create_session(folder / "onnx" / file, threads=threads)
                runners[kind] = lambda session=session, feed=feed: session.run(["logits"], feed)
            for kind, ms in _interleaved_ms(runners, repeats[batch]).items():
                if kind not in best or ms < best[kind][0]:
                    best[kind] = (ms, threads)
        with torch.inference_mode():
            reference = detector.model(pixel_values=pixels).logits.double().softmax(-1)[:, 1].numpy()
        int8 = create_session(folder / "onnx" / files["int8"]).run(["logits"], feed)[0].astype(np.float64)
        int8_scores = np.exp(int8[:, 1] - np.logaddexp.reduce(int8, axis=1))
        torch_ms, onnx_ms, int8_ms = best["torch"][0], best["fp32"][0], best["int8"][0]
        rows.append(
            {
                "model": SPECS[name]["label"],
                "batch": batch,
                "torch ms": round(torch_ms, 2),
                "onnxruntime ms": round(onnx_ms, 2),
                "onnxruntime / torch speed": ratio(torch_ms, onnx_ms),
                "int8 ms": round(int8_ms, 2),
                "int8 / torch speed": ratio(torch_ms, int8_ms),
                "threads (torch / ort / int8)": f"{best['torch'][1]} / {best['fp32'][1]} / {best['int8'][1]}",
                "torch images/s": round(1000 * batch / torch_ms, 1),
                "onnxruntime images/s": round(1000 * batch / onnx_ms, 1),
                "parity max abs(dP)": f"{report['parity']['max_abs_diff']:.1e}",
                "int8 max abs(dP) (random input)": f"{float(np.abs(int8_scores - reference).max()):.1e}",
                "export s": report["export_s"],
            }
        )
    return rows


def _load() -> str:
    try:
        return " / ".join(f"{value:.1f}" for value in os.getloadavg()) + " (1 / 5 / 15 min)"
    except OSError:
        return "unknown"


def run(quick: bool, work: Path) -> dict[str, Any]:
    names = ["cnn224", "vit_small"] if quick else ["cnn224", "vit_small", "vit_b16"]
    repeats = {1: 10, 32: 3} if quick else {1: 30, 32: 8}
    rows = []
    for name in names:
        rows.extend(_time_model(name, work, repeats))
    columns = list(rows[0])
    return {
        "columns": columns,
        "rows": rows,
        "notes": [
            "Forward pass only, on the same preprocessed float32 pixel_values (decode and crop are shared "
            "code); torch: model(pixel_values).logits.softmax under inference_mode, SDPA attention; "
            "onnxruntime: CPUExecutionProvider, graph from hf-aidetect export (torch.onnx dynamo, opset 18).",
            "Median of repeated runs after one warm-up, the runtimes timed in turns so that load from "
            "other processes falls on all alike; each runtime's best of 1 thread and all usable cores "
            "(intra-op) is reported, with the thread count. Load "
            f"average during the case: {_load()}.",
            "int8 = onnxruntime dynamic quantisation (weights int8, activations quantised at run time); "
            "its max |dP| is on random inputs of a random-weight model: accuracy is measured by "
            "`hf-aidetect export --quantize int8 --check-data DATA` on real data, not here.",
            "Models are built from configs with random weights (speed does not depend on them).",
        ],
    }


if __name__ == "__main__":
    sys.exit(case_main("h", "onnxruntime vs PyTorch on CPU, batch 1 and 32", run))
