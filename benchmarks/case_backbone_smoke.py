"""Case j: the quality suite's smoke rows for the backbones (issue 14, item 7).

Each backbone family's tiny twin (2 layers, width 32, **random weights**) is trained with each tuning mode
on the suite's multi-generator ``cross128`` set (case f's generator and cache, quick sizes) through the
same ``train()`` as every recipe, evaluation report included: one row per family x mode with the test
accuracy, ROC-AUC, AP, TPR at 1 % FPR and AP per generator. The rows show that every family and mode runs
the suite end to end; with random backbones they say nothing about detection quality.
``--quick``: one family (DINOv3) through the four modes. Other datasets or sizes:
``python -m benchmarks.backbone_smoke`` (see its ``--help``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from benchmarks.backbone_smoke import COLUMNS, LABEL, MODES, run_suite, suite_datasets
from benchmarks.common import case_main

DATASET = "cross128"


def run(quick: bool, work: Path) -> dict[str, Any]:
    from hf_aidetect.models.backbones.twins import FAMILIES

    families = ("dinov3_vit",) if quick else FAMILIES
    rows = run_suite(suite_datasets([DATASET], full_size=False), work / "smoke", families, MODES)
    notes = [
        f"Every row is a **{LABEL}**: the twins' backbones have random weights, so chance-level figures "
        "are expected (ROC-AUC 0.5; AP = the fake share of the scored images: about 0.83 on the whole test "
        "split, where fakes outnumber reals 5 to 1, about 0.5 per generator, scored against all reals). The "
        "rows prove the path (train, tune the threshold, evaluate per generator), not quality.",
        f"Data: the quality suite's `{DATASET}` at its quick sizes (case f's generator; fakes from 5 "
        "generator families, JPEG q70-95). One epoch, batch 16, lr 1e-3, input 32 px, LoRA rank 4, "
        "fp32 on CPU. 'wall s' is one run's train + evaluation time in this process.",
    ]
    return {"columns": COLUMNS, "rows": rows, "notes": notes}


if __name__ == "__main__":
    sys.exit(case_main("j", "Backbone smoke rows on the quality suite (random-init twins)", run))
