"""A benchmark case that measures nothing: lets the runner's plumbing be tested in a second."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from benchmarks.common import case_main, target


def run(quick: bool, work: Path) -> dict[str, Any]:
    (work / "touched").write_text("ok")
    return {
        "columns": ["name", "value"],
        "rows": [{"name": "one", "value": 1.5}, {"name": "two|pipe", "value": None}],
        "targets": [target("value vs one", 1.5, 1.0), target("value vs two", 0.5, 1.0)],
        "notes": [f"quick={quick}"],
    }


if __name__ == "__main__":
    sys.exit(case_main("z", "Smoke case", run))
