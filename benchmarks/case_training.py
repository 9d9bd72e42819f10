"""Case b: training throughput (samples/s) and peak memory: the seed CNN at 224, a small ViT, ViT-B/16.

Each (model, variant) runs in a fresh child process (clean peak RSS). Batches are synthetic tensors
already on the device, so this is the model's training speed alone (case a is the data path).
On CUDA the variants add the recipe switches: bf16 autocast, SDPA attention, channels_last, torch.compile.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import case_main, peak_rss_mb
from benchmarks.models import SPECS, VIT_B16_TRAIN_GFLOP_PER_IMAGE, bf16_peak_tflops

CPU_PLAN = {  # model -> (batch, warmup steps, timed steps); quick divides
    "cnn224": (32, 2, 8),
    "vit_small": (16, 1, 3),
    "vit_b16": (4, 1, 2),
}
GPU_PLAN = {"cnn224": (256, 5, 30), "vit_small": (256, 5, 30), "vit_b16": (128, 5, 20)}
GPU_VARIANTS = ["fp32", "bf16+sdpa", "bf16+sdpa+channels_last+compile"]
# On a CPU shared with other jobs, 2 OpenMP threads can be slower than 1; bf16 autocast uses AVX512-BF16.
CPU_VARIANTS = {
    "cnn224": ["fp32", "fp32, 1 thread", "bf16+channels_last", "bf16+channels_last, 1 thread"],
    "vit_small": ["fp32", "fp32, 1 thread", "bf16"],
}


def child(name: str, variant: str, device: str, batch: int, warmup: int, steps: int) -> dict[str, Any]:
    """Train ``steps`` optimizer steps on random data; samples/s and peak memory."""
    import torch

    from benchmarks.models import build

    use_bf16, use_compile = "bf16" in variant, "compile" in variant
    if "1 thread" in variant:
        torch.set_num_threads(1)
    model, _ = build(name, attn_implementation="sdpa" if "sdpa" in variant or device == "cpu" else "eager")
    model.to(device).train()
    channels_last = "channels_last" in variant
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device == "cuda")
    step_fn = torch.compile(model) if use_compile else model
    size = SPECS[name]["image_size"]
    pixels = torch.randn(batch, 3, size, size, device=device)
    if channels_last:
        pixels = pixels.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 2, (batch,), device=device)

    def step() -> None:
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=use_bf16):
            loss = step_fn(pixel_values=pixels, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(warmup):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    out = {"samples/s": round(batch * steps / seconds, 2), "s/step": round(seconds / steps, 3)}
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    if device == "cuda":
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def _spawn(name: str, variant: str, device: str, plan: tuple[int, int, int]) -> dict[str, Any]:
    batch, warmup, steps = plan
    cmd = [sys.executable, "-m", "benchmarks.case_training", "--child", name, "--variant", variant]
    cmd += ["--device", device, "--batch", str(batch), "--warmup", str(warmup), "--steps", str(steps)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1][:300] if proc.stderr.strip() else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(quick: bool, work: Path) -> dict[str, Any]:
    import os

    import torch

    device = os.environ.get("BENCH_DEVICE", "cpu")
    gpu_name = torch.cuda.get_device_name(0) if device == "cuda" else None
    plan = GPU_PLAN if device == "cuda" else CPU_PLAN
    rows = []
    for name in SPECS:
        variants = GPU_VARIANTS if device == "cuda" else CPU_VARIANTS.get(name, ["fp32"])
        batch, warmup, steps = plan[name]
        if quick:
            batch, warmup, steps = max(1, batch // 4), int(name != "vit_b16"), 1
        for variant in variants:
            result = _spawn(name, variant, device, (batch, warmup, steps))
            row = {"model": SPECS[name]["label"], "device": gpu_name or "cpu", "variant": variant}
            row.update(batch=batch, steps=steps, **result)
            if name == "vit_b16" and "samples/s" in result:
                tflops = result["samples/s"] * VIT_B16_TRAIN_GFLOP_PER_IMAGE / 1000
                row["TFLOP/s"] = round(tflops, 3)
                peak = bf16_peak_tflops(gpu_name)
                if peak and "bf16" in variant:
                    row["% bf16 peak"] = round(100 * tflops / peak, 1)
            rows.append(row)
    notes = [
        "Synthetic batches on the device; AdamW; timed after warm-up steps; each row a fresh process.",
        "ViT-B/16 TFLOP/s assumes 3 x 17.6 GFLOPs per 224 px image per training step.",
    ]
    if device == "cpu":
        notes.append(
            "CPU only here (no GPU in this run): few steps, small batches; fp32 with SDPA attention."
        )
    return {
        "columns": ["model", "device", "variant", "batch", "steps", "samples/s", "s/step", "peak_rss_mb"]
        + (["peak_gpu_mb"] if device == "cuda" else [])
        + ["TFLOP/s", "% bf16 peak", "error"],
        "rows": rows,
        "targets": [],
        "notes": notes,
    }


if __name__ == "__main__":
    if "--child" in sys.argv:
        parser = argparse.ArgumentParser()
        parser.add_argument("--child", required=True, choices=list(SPECS))
        parser.add_argument("--variant", default="fp32")
        parser.add_argument("--device", default="cpu")
        parser.add_argument("--batch", type=int, required=True)
        parser.add_argument("--warmup", type=int, default=1)
        parser.add_argument("--steps", type=int, default=3)
        a = parser.parse_args()
        print(json.dumps(child(a.child, a.variant, a.device, a.batch, a.warmup, a.steps)))
        sys.exit(0)
    sys.exit(case_main("b", "Training throughput and peak memory", run))
