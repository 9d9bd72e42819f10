"""Case k: start-up time of the ``hf-aidetect`` command (hyperfine-style repeats) and what it imports.

Each command runs ``repeats`` times in a fresh process after one warm-up run (the file cache is warm, as
for a user who runs the command twice); the table gives mean, median, min and max wall time. ``python -c
pass`` is the floor any Python command pays. ``python -X importtime`` shows the cumulative import time of
``hf_aidetect.cli`` and whether a heavy library (torch, transformers, datasets, numpy) was imported.
Target: ``--help`` and ``--version`` answer in under 1.5 s (median).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import case_main

HEAVY = ("torch", "transformers", "datasets", "numpy", "PIL", "matplotlib", "sklearn")
TARGET_S = 1.5


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("hf-aidetect")
    if script.is_file():
        return [str(script)]
    found = shutil.which("hf-aidetect")
    return [found] if found else [sys.executable, "-m", "hf_aidetect.cli"]


def _time(command: list[str], repeats: int) -> dict[str, Any]:
    subprocess.run(command, capture_output=True, check=False)  # warm-up
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        runs.append(time.perf_counter() - start)
    return {
        "mean_s": round(statistics.mean(runs), 3),
        "median_s": round(statistics.median(runs), 3),
        "min_s": round(min(runs), 3),
        "max_s": round(max(runs), 3),
        "runs": repeats,
    }


def _imports() -> tuple[float, list[str], list[str]]:
    """(cumulative seconds of ``import hf_aidetect.cli`` + building the parser, heavy modules imported,
    the five slowest modules)."""
    code = "import hf_aidetect.cli as c; c.build_parser()"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=False
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        _, self_us, cumulative_us, name = (
            part.strip() for part in line.replace("import time:", "|").split("|")
        )
        rows.append((int(cumulative_us), int(self_us), name.strip()))
    total = next((cumulative for cumulative, _, name in rows if name == "hf_aidetect.cli"), 0)
    heavy = sorted({name for _, _, name in rows if name.split(".")[0] in HEAVY and "." not in name})
    slowest = [
        f"{name} {self_us / 1000:.1f} ms" for _, self_us, name in sorted(rows, key=lambda r: -r[1])[:5]
    ]
    return total / 1e6, heavy, slowest


def run(quick: bool, work: Path) -> dict[str, Any]:
    repeats = 3 if quick else 10
    cli = _console_script()
    commands = {
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
        "hf-aidetect --version": [*cli, "--version"],
        "hf-aidetect --help": [*cli, "--help"],
        "hf-aidetect train --help": [*cli, "train", "--help"],
        "hf-aidetect recipes": [*cli, "recipes"],
    }
    rows = [{"command": name, **_time(command, repeats)} for name, command in commands.items()]
    seconds, heavy, slowest = _imports()
    targets = []
    for row in rows:
        if row["command"] in ("hf-aidetect --version", "hf-aidetect --help"):
            median = row["median_s"]
            targets.append(
                {
                    "target": f"{row['command']} median < {TARGET_S:g} s",
                    "measured": f"{median:.2f} s",
                    "threshold": f"< {TARGET_S:g} s",
                    "met": median < TARGET_S,
                }
            )
    return {
        "columns": ["command", "mean_s", "median_s", "min_s", "max_s", "runs"],
        "rows": rows,
        "targets": targets,
        "notes": [
            f"import hf_aidetect.cli + build the parser: {seconds * 1000:.0f} ms cumulative (-X importtime)",
            "heavy libraries imported by it: " + (", ".join(heavy) if heavy else "none"),
            "slowest modules (self time): " + "; ".join(slowest),
            f"command: {' '.join(Path(part).name for part in cli)} (the console script of this environment)",
        ],
    }


if __name__ == "__main__":
    sys.exit(case_main("k", "CLI start-up time (hf-aidetect --help / --version)", run))
