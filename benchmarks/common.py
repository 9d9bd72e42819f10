"""Shared plumbing for the benchmark cases: machine facts, timing, peak RSS, synthetic JPEG folders."""

from __future__ import annotations

import argparse
import datetime as _dt
import io
import json
import os
import platform
import resource
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (falls back to platform.processor())."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def total_ram_gb() -> float:
    """Physical memory in GiB."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return float("nan")


def usable_cores() -> int:
    """Cores this process may run on: the package's one policy (affinity and cgroup quota aware)."""
    from hf_aidetect.data.workers import available_cores

    return available_cores()


def machine_info() -> dict[str, Any]:
    """Facts that make a number reproducible: CPU, cores, RAM, GPU, library versions, date."""
    import datasets
    import PIL
    import torch
    import transformers

    gpu = None
    if torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(0)
    return {
        "cpu": cpu_model(),
        "cores": usable_cores(),
        "ram_gb": round(total_ram_gb(), 1),
        "gpu": gpu,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "datasets": datasets.__version__,
        "pillow": PIL.__version__,
        "torch_threads": torch.get_num_threads(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def peak_rss_mb(include_children: bool = False) -> float:
    """Peak resident set size of this process (plus waited-for children) in MiB (Linux: ru_maxrss in KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if include_children:
        peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return peak / 1024.0


def hwm_rss_mb() -> float:
    """Peak RSS of this process image in MiB (``VmHWM``; NaN where unavailable).

    Unlike ``ru_maxrss`` it starts afresh at ``exec``: a child started by ``subprocess`` from a large parent
    reports at least the parent's peak in ``ru_maxrss`` (Linux keeps it across fork + exec).
    """
    try:
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmHWM:", 1)[1].split()[0]) / 1024.0
    except (OSError, ValueError, IndexError):
        return float("nan")


def current_rss_mb() -> float:
    """Current resident set size of this process in MiB (from /proc; NaN where unavailable)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``fn`` once, return (seconds, result)."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def throughput(count: int, seconds: float) -> float:
    """Items per second, rounded for tables."""
    return round(count / seconds, 1) if seconds > 0 else float("nan")


def _base_photos() -> list[np.ndarray]:
    """Natural photographs shipped with scikit-learn (no network), as uint8 RGB arrays."""
    from sklearn.datasets import load_sample_images

    return [np.asarray(img, dtype=np.uint8) for img in load_sample_images().images]


def jpeg_variants(count: int, size: int, seed: int = 0, quality: int = 90) -> list[bytes]:
    """``count`` distinct ``size``x``size`` JPEG encodings of random photo crops (realistic decode cost)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    photos = _base_photos()
    out = []
    for i in range(count):
        photo = photos[i % len(photos)]
        side = int(rng.integers(size, min(photo.shape[:2]) + 1))
        y = int(rng.integers(0, photo.shape[0] - side + 1))
        x = int(rng.integers(0, photo.shape[1] - side + 1))
        img = Image.fromarray(photo[y : y + side, x : x + side]).resize((size, size), Image.BILINEAR)
        if rng.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=quality)
        out.append(buf.getvalue())
    return out


def write_jpeg_folder(
    root: Path, n_images: int, size: int, *, distinct: int = 64, split: str = "train", seed: int = 0
) -> Path:
    """Write ``n_images`` JPEGs (half real, half fake) under ``root/split/{real,fake}``; returns ``root``.

    Only ``distinct`` encodings are produced and then copied, so 20k files take seconds; the files are
    still separate on disk, which is what loading and decoding cost depends on.
    """
    blobs = jpeg_variants(min(distinct, n_images), size, seed=seed)
    for label in ("real", "fake"):
        (root / split / label).mkdir(parents=True, exist_ok=True)
    for i in range(n_images):
        label = "real" if i % 2 == 0 else "fake"
        (root / split / label / f"{i:06d}.jpg").write_bytes(blobs[i % len(blobs)])
    return root


def list_images(root: Path) -> list[Path]:
    """All .jpg files under ``root``, sorted."""
    return sorted(root.rglob("*.jpg"))


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b rounded, None when either side is missing."""
    if a is None or b is None or not b:
        return None
    return round(a / b, 2)


def target(name: str, measured: float | None, threshold: float, unit: str = "x") -> dict[str, Any]:
    """A target row: met when ``measured >= threshold`` (None when it could not be measured)."""
    met = None if measured is None else bool(measured >= threshold)
    shown = "n/a" if measured is None else f"{measured:g}{unit}"
    return {"target": name, "measured": shown, "threshold": f">= {threshold:g}{unit}", "met": met}


def case_main(
    name: str,
    title: str,
    run: Callable[..., dict[str, Any]],
    argv: Iterable[str] | None = None,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """Command-line wrapper every case module uses: run, time, record peak RSS, write the JSON.

    ``run(quick, work)``; a case with options of its own passes ``add_arguments`` and gets
    ``run(quick, work, args)`` with the parsed namespace.
    """
    parser = argparse.ArgumentParser(description=title)
    if add_arguments is not None:
        add_arguments(parser)
    parser.add_argument("--quick", action="store_true", help="small sizes for a fast smoke run")
    parser.add_argument("--work", type=Path, required=True, help="scratch folder for data and outputs")
    parser.add_argument("--out", type=Path, required=True, help="JSON result file to write")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (cases that train or predict)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    os.environ["BENCH_DEVICE"] = args.device
    args.work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"case": name, "title": title, "quick": args.quick, "status": "ok"}
    start = time.perf_counter()
    try:
        extra = (args,) if add_arguments is not None else ()
        result.update(run(args.quick, args.work, *extra))
    except Exception as exc:  # a failed case still leaves a result that says why
        traceback.print_exc()
        result.update(status="error", error=f"{type(exc).__name__}: {exc}")
    result["wall_s"] = round(time.perf_counter() - start, 1)
    result["peak_rss_mb"] = round(peak_rss_mb(include_children=True), 1)
    result["machine"] = machine_info()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"[{name}] {result['status']} in {result['wall_s']} s -> {args.out}", file=sys.stderr)
    return 0 if result["status"] == "ok" else 1
