"""Case i: pre-trained backbones x tuning modes -- training throughput, peak memory, the recipes' costs.

For every backbone family (CLIP, SigLIP, SigLIP 2, DINOv2 with registers, DINOv3, ConvNeXt V2) and tuning
mode (full, linear probe, LayerNorm-only, LoRA r=16): a fresh subprocess builds the model through
``build_model`` (random weights, from a config: no Hub), then times training steps (forward + backward +
AdamW over the trainable weights, one torch thread on CPU) on random batches. It reports samples/s
(median step, wall clock), samples per CPU second (median step, process CPU time: what other work on a
shared machine disturbs least), its peak RSS and the RSS before the model was built (the model's share).
Sizes: ``tiny`` (the tests' twins: 2 layers, width 32, 32 px) and ``small`` (6 layers, width 192, 112 px,
patch 16; ConvNeXt V2 atto-like) on CPU; ``recipe`` (the recipes' architectures at 224 px, bf16 autocast,
peak CUDA memory) with ``--device cuda`` only. The recipes' table is exact accounting on the meta device:
parameters, training FLOPs per image (``torch.utils.flop_counter``), activations saved for backward.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import case_main, current_rss_mb, peak_rss_mb
from benchmarks.models import bf16_peak_tflops

FAMILIES = ("clip_vision_model", "siglip_vision_model", "siglip2_vision_model", "dinov2_with_registers",
            "dinov3_vit", "convnextv2")  # fmt: skip
MODES = ("full", "linear_probe", "layernorm", "lora")
LORA_RANK = 16
BATCH = {"tiny": 16, "small": 16, "recipe": 32}
VIT = {
    "tiny": ({"num_hidden_layers": 2, "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2,
              "patch_size": 8}, 32),
    "small": ({"num_hidden_layers": 6, "hidden_size": 192, "intermediate_size": 768, "num_attention_heads": 3,
               "patch_size": 16}, 112),
}  # fmt: skip
CONVNEXT = {
    "tiny": ({"depths": [1, 1], "hidden_sizes": [16, 32], "num_stages": 2}, 32),
    "small": ({"depths": [2, 2, 6, 2], "hidden_sizes": [40, 80, 160, 320]}, 112),
}
# The recipes' architectures (and DINOv3 / SigLIP 2 NaFlex ViT-B/16 for their families) at 224 px.
RECIPE = {
    "clip_vision_model": ({"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24,
                           "num_attention_heads": 16, "patch_size": 14}, 224),
    "siglip_vision_model": ({"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                             "num_attention_heads": 12, "patch_size": 16}, 224),
    "siglip2_vision_model": ({"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                              "num_attention_heads": 12, "patch_size": 16, "num_patches": 196}, 224),
    "dinov2_with_registers": ({"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                               "num_attention_heads": 12, "patch_size": 14, "num_register_tokens": 4}, 224),
    "dinov3_vit": ({"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                    "num_attention_heads": 12, "patch_size": 16, "num_register_tokens": 4}, 224),
    "convnextv2": ({"depths": [3, 3, 9, 3], "hidden_sizes": [96, 192, 384, 768]}, 224),
}  # fmt: skip
# recipe file -> (family, mode, pooling, batch)
RECIPES = {
    "clip_vitl14_lora.yaml": ("clip_vision_model", "lora", "cls", 32),
    "dinov2_linear_probe.yaml": ("dinov2_with_registers", "linear_probe", "cls", 64),
    "siglip2_layernorm.yaml": ("siglip_vision_model", "layernorm", "map", 32),
    "convnextv2_full.yaml": ("convnextv2", "full", "mean", 64),
}
H100_MFU = 0.4  # assumed fraction of the bf16 peak a training step reaches (the time estimate's premise)


def model_arguments(family: str, mode: str, size: str, pooling: str = "auto") -> Any:
    from hf_aidetect.models import ModelArguments

    if size == "recipe":
        overrides, side = RECIPE[family]
    else:
        overrides, side = (CONVNEXT if family == "convnextv2" else VIT)[size]
    overrides = dict(overrides)
    if family == "siglip2_vision_model" and size != "recipe":
        overrides["num_patches"] = (side // overrides["patch_size"]) ** 2
    if family in ("dinov2_with_registers", "dinov3_vit"):
        overrides.setdefault("num_register_tokens", 4)
    if family == "dinov2_with_registers":  # DINOv2 sizes its MLP by a ratio
        overrides["mlp_ratio"] = (
            overrides.pop("intermediate_size", 4 * overrides["hidden_size"]) // overrides["hidden_size"]
        )
    return ModelArguments(
        model_type=family, image_size=side, config_overrides=overrides, tuning=mode, lora_r=LORA_RANK,
        lora_alpha=2 * LORA_RANK, pooling=pooling,
    )  # fmt: skip


def measure(family: str, mode: str, size: str, device: str, steps: int) -> dict[str, Any]:
    """One row, in this (fresh) process: samples/s of training steps and the memory they needed."""
    import torch

    from hf_aidetect.models import build_model

    if device == "cpu":  # one thread: its CPU time is the step's cost, whatever else shares the machine
        torch.set_num_threads(1)
    baseline = current_rss_mb()
    args = model_arguments(family, mode, size)
    model = build_model(args)[0].to(device).train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4)
    batch, side = BATCH[size], args.image_size
    pixels = torch.randn(batch, 3, side, side, device=device)
    labels = torch.randint(0, 2, (batch,), device=device)
    bf16 = device == "cuda"
    times, cpu_times = [], []
    for step in range(steps + 1):  # the first step warms up kernels and allocators
        start, cpu_start = time.perf_counter(), time.process_time()
        with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
            loss = model(pixel_values=pixels, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        if step:
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    record = model.config.tuning
    row = {
        "family": family, "mode": mode, "size": f"{size} @ {side} px", "batch": batch,
        "trainable": record["trainable_parameters"], "parameters": record["total_parameters"],
        "samples/s": round(batch / statistics.median(times), 1),
        "samples/CPU-s": round(batch / statistics.median(cpu_times), 1),
        "peak RSS MiB": round(peak_rss_mb(), 0), "RSS before model MiB": round(baseline, 0),
    }  # fmt: skip
    if device == "cuda":
        row["peak CUDA MiB"] = round(torch.cuda.max_memory_allocated() / 2**20, 0)
    return row


def _child(spec: dict[str, Any], work: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.case_backbones", "--row", json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=work)
    for line in done.stdout.splitlines():
        if line.startswith("ROW"):
            return json.loads(line[3:])
    error = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
    return {**{k: spec[k] for k in ("family", "mode")}, "size": spec["size"], "error": error[0][:200]}


def recipe_costs(device_name: str | None = None) -> list[dict[str, Any]]:
    """Exact parameters, training FLOPs and saved activations per image of each recipe (meta device)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from hf_aidetect.models.backbones import builder
    from hf_aidetect.models.tuning import apply_tuning

    peak = bf16_peak_tflops(device_name) or bf16_peak_tflops("H100")
    rows = []
    for recipe, (family, mode, pooling, batch) in RECIPES.items():
        args = model_arguments(family, mode, "recipe", pooling)
        with torch.device("meta"):
            model = apply_tuning(builder.build_from_config(args)[0], args)
        with FlopCounterMode(display=False) as flops:
            one = _meta_step(model, args.image_size, 1)
        per_image = (_meta_step(model, args.image_size, 2) - one) / 2**20  # saved weights cancel out
        record = model.config.tuning
        weights = record["total_parameters"] * 4 / 2**30
        optimizer = record["trainable_parameters"] * 12 / 2**30  # fp32 gradient + AdamW's two moments
        gflop = flops.get_total_flops() / 1e9
        rows.append(
            {
                "recipe": recipe, "mode": mode, "parameters": record["total_parameters"],
                "trainable": record["trainable_parameters"],
                "trainable %": round(record["trainable_percent"], 4), "train GFLOP/image": round(gflop, 1),
                "saved activations MiB/image (fp32)": round(per_image, 1), "batch": batch,
                "est. GPU GiB": round(weights + optimizer + batch * per_image / 2 / 1024, 1),
                "est. min / 100k images": round(gflop * 1e9 * 1e5 / (peak * 1e12 * H100_MFU) / 60, 1),
            }
        )  # fmt: skip
    return rows


def _meta_step(model: Any, side: int, images: int) -> int:
    """Bytes autograd saves for backward in one training step of ``images`` images (meta tensors)."""
    import torch

    seen: dict[int, int] = {}  # a tensor saved by several ops (q, k and v read one input) counts once

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        base = tensor._base if tensor._base is not None else tensor
        seen[id(base)] = max(seen.get(id(base), 0), base.numel() * base.element_size())
        kept.append(base)  # keep ids unique while counting
        return tensor

    kept: list[torch.Tensor] = []

    pixels = torch.randn(images, 3, side, side, device="meta")
    labels = torch.zeros(images, dtype=torch.long, device="meta")
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = model(pixel_values=pixels, labels=labels).loss
    loss.backward()
    return sum(seen.values())


def _rows(sizes: tuple[str, ...], device: str, steps: int, work: Path) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        for family in FAMILIES:
            for mode in MODES:
                spec = {"family": family, "mode": mode, "size": size, "device": device, "steps": steps}
                rows.append(_child(spec, work))
                print(f"[backbones] {family} {mode} {size}: {rows[-1].get('samples/s')}", file=sys.stderr)
    return rows


def _targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A frozen backbone must pay off: the linear probe trains >= 1.5x faster than full tuning (small)."""
    by_key = {(r["family"], r["mode"], r["size"]): r for r in rows if "samples/s" in r}
    targets = []
    for (family, mode, size), row in sorted(by_key.items()):
        if mode != "linear_probe" or not size.startswith("small"):
            continue
        full = by_key.get((family, "full", size))
        speedup = row["samples/CPU-s"] / full["samples/CPU-s"] if full else None
        targets.append(
            {
                "target": f"{family} ({size}): linear probe vs full, training samples per CPU-second",
                "measured": "n/a" if speedup is None else f"{speedup:.2f}x",
                "threshold": ">= 1.5x",
                "met": None if speedup is None else speedup >= 1.5,
            }
        )
    return targets


COLUMNS = ["family", "mode", "size", "batch", "trainable", "parameters", "samples/s", "samples/CPU-s",
           "peak RSS MiB", "RSS before model MiB"]  # fmt: skip


def run(quick: bool, work: Path) -> dict[str, Any]:
    import os

    import torch

    device = os.environ.get("BENCH_DEVICE", "cpu")
    gpu = device == "cuda" and torch.cuda.is_available()
    rows = _rows(("tiny",) if quick else ("tiny", "small"), "cpu", 2 if quick else 4, work)
    tables = []
    if gpu:
        gpu_rows = _rows(("recipe",), "cuda", 3 if quick else 10, work)
        tables.append(
            {
                "title": f"Recipe sizes on {torch.cuda.get_device_name(0)} (bf16 autocast, batch 32)",
                "columns": [*COLUMNS[:7], "peak CUDA MiB"],
                "rows": gpu_rows,
            }
        )
    costs = recipe_costs(torch.cuda.get_device_name(0) if gpu else None)
    tables.append(
        {
            "title": "The recipes' costs: exact accounting on the meta device, GPU memory and time estimated",
            "columns": list(costs[0]),
            "rows": costs,
        }
    )
    notes = [
        "CPU rows: a fresh subprocess per row (so its peak RSS is its own; 'RSS before model' is torch + "
        "transformers imported), fp32, one torch thread, medians of the timed steps after one warm-up step: "
        "samples/s by the wall clock, samples/CPU-s by this process's CPU time, which other work on a "
        "shared machine disturbs far less (with one thread no core is spent spinning at a barrier); "
        "random weights "
        f"built from configs. LoRA: rank {LORA_RANK}, alpha {2 * LORA_RANK}, on the attention projections "
        "(ConvNeXt V2: pwconv1 / pwconv2). Pooling: each family's default (CLIP / DINO: class token, "
        "SigLIP: its attention-pooling head, ConvNeXt V2: mean).",
        "The linear probe runs the backbone under no_grad in eval mode: no activations are kept, and only "
        "the head's weights reach the optimizer.",
        "Recipes table: FLOPs of one forward + backward (torch.utils.flop_counter, fp32 shapes); saved "
        "activations = bytes autograd keeps per image (the difference between batches of 2 and 1). "
        "'est. GPU GiB' = fp32 weights + fp32 gradients and AdamW states of the trained weights + saved "
        "activations at the recipe's batch in bf16 (half the fp32 figure); CUDA workspace, the allocator's "
        "slack and the data pipeline are not included. 'est. min / 100k images' assumes "
        f"{int(H100_MFU * 100)} % of the bf16 peak of {'this GPU' if gpu else 'an H100 (989 TFLOP/s)'} and "
        "no data-loading stall. These are estimates, not measurements.",
    ]
    if not gpu:
        notes.append(
            "No GPU in this run, so no recipe-size rows were measured: on a machine with one, run "
            "`python -m benchmarks.run --cases i --device cuda` (adds 24 rows: every family x mode at its "
            "recipe size, bf16, batch 32, with peak CUDA memory)."
        )
    return {"columns": COLUMNS, "rows": rows, "tables": tables, "targets": _targets(rows), "notes": notes}


if __name__ == "__main__":
    if "--row" in sys.argv:
        spec = json.loads(sys.argv[sys.argv.index("--row") + 1])
        print(
            "ROW"
            + json.dumps(measure(spec["family"], spec["mode"], spec["size"], spec["device"], spec["steps"]))
        )
        sys.exit(0)
    sys.exit(case_main("i", "Backbones x tuning modes: training samples/s, memory, recipe costs", run))
