"""Run the benchmark cases, each in its own subprocess, and regenerate ``benchmarks/README.md``.

Usage (from the repository root): ``python -m benchmarks.run [--cases a,b,...] [--quick] [--device cuda]``.
Cases: a=data_path, b=training, c=predict, d=end_to_end, e=memory, f=quality, g=speed, h=onnx,
s=streaming, i=backbones, j=backbone_smoke, k=startup. Case f's own options (``--datasets``,
``--recipe-args``, ``--cnn-recipe``, ...: see ``--help``) are passed on to it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.quality.options import add_quality_arguments, forwarded
from benchmarks.report import load_results, render

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent

# letter -> (result name, module)
CASES: dict[str, tuple[str, str]] = {
    "a": ("data_path", "benchmarks.case_data_path"),
    "b": ("training", "benchmarks.case_training"),
    "c": ("predict", "benchmarks.case_predict"),
    "d": ("end_to_end", "benchmarks.case_end_to_end"),
    "e": ("memory", "benchmarks.case_memory"),
    "f": ("quality", "benchmarks.case_quality"),
    "g": ("speed", "benchmarks.case_speed"),
    "h": ("onnx", "benchmarks.case_onnx"),
    "i": ("backbones", "benchmarks.case_backbones"),
    "j": ("backbone_smoke", "benchmarks.case_backbone_smoke"),
    "s": ("streaming", "benchmarks.case_streaming"),
    "k": ("startup", "benchmarks.case_startup"),
}
# Per-case limit when --timeout is not given: the quality suite trains ~30 models.
CASE_TIMEOUTS: dict[str, float] = {"f": 4 * 3600.0, "i": 3600.0, "j": 3600.0}
DEFAULT_TIMEOUT = 1800.0
# The speed cases; the quality suite (f, about an hour on 2 cores), onnxruntime vs torch (h, ~20 min:
# ViT-B/16 at batch 32 on CPU), the backbones (i, 10-20 min) and their suite smoke rows (j, ~10 min) run
# when asked for.
DEFAULT_CASES = "a,b,c,d,e,g,s,k"


def parse_cases(spec: str) -> list[str]:
    """``"a,c"`` or ``"data_path,predict"`` -> case letters, in suite order; unknown names are an error."""
    by_name = {name: letter for letter, (name, _) in CASES.items()}
    letters = []
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        letter = item if item in CASES else by_name.get(item)
        if letter is None:
            choices = ", ".join(f"{k}={v[0]}" for k, v in CASES.items())
            raise SystemExit(f"unknown case {item!r}; choose from {choices}")
        letters.append(letter)
    return sorted(set(letters))


def _default_device() -> str:
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def _child_env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HF_HOME=str(work / "hf_home"),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_NO_ADVISORY_WARNINGS="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p),
    )
    return env


def run_case(letter: str, args: argparse.Namespace, work: Path, results_dir: Path) -> int:
    """Run one case module in a subprocess; it writes ``results_dir/<name>.json``."""
    name, module = CASES[letter]
    out = results_dir / f"{name}.json"
    cmd = [sys.executable, "-m", module, "--work", str(work / name), "--out", str(out)]
    cmd += ["--device", args.device] + (["--quick"] if args.quick else [])
    if letter == "f":
        cmd += forwarded(args)
    timeout = args.timeout or CASE_TIMEOUTS.get(letter, DEFAULT_TIMEOUT)
    print(f"== case {letter} ({name}) ==", flush=True)
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=REPO_ROOT, env=_child_env(work), timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        print(f"case {letter} timed out after {timeout} s", flush=True)
        code = 124
    print(f"== case {letter} done in {time.perf_counter() - start:.1f} s (exit {code}) ==", flush=True)
    if args.conditions and out.is_file():
        import json

        data = json.loads(out.read_text())
        data["conditions"] = args.conditions
        out.write_text(json.dumps(data, indent=2) + "\n")
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--cases", default=DEFAULT_CASES, help=f"comma-separated letters or names (default {DEFAULT_CASES})"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run in about a minute")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--results", type=Path, default=None, help="results dir (default benchmarks/results)")
    parser.add_argument("--readme", type=Path, default=None, help="markdown file to regenerate")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--keep-work", action="store_true", help="keep the scratch folder")
    parser.add_argument(
        "--timeout", type=float, default=None, help="per-case limit in s (default 1800; f: 4 h)"
    )
    parser.add_argument("--conditions", default="", help="free text stored with results (e.g. machine load)")
    add_quality_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.device = args.device or _default_device()
    results_dir = args.results or (BENCH_DIR / "results" / ("quick" if args.quick else ""))
    readme = args.readme or (results_dir / "README.md" if args.quick else BENCH_DIR / "README.md")
    results_dir.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="hf_aidetect_bench_"))
    failures = 0
    try:
        for letter in parse_cases(args.cases):
            failures += run_case(letter, args, work, results_dir) != 0
    finally:
        if not args.keep_work and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    order = [name for name, _ in CASES.values()]
    analysis_file = BENCH_DIR / "analysis.md"  # hand-written reading of the numbers, kept between runs
    analysis = analysis_file.read_text() if analysis_file.is_file() and not args.quick else ""
    readme.write_text(render(load_results(results_dir, order), analysis))
    print(f"wrote {readme}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
