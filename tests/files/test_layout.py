"""The output-folder contract has one owner: no module spells a contract file name itself."""

from __future__ import annotations

import re
from pathlib import Path

import hf_aidetect
from hf_aidetect.files import layout

PACKAGE = Path(hf_aidetect.__file__).parent
# Names whose literal would mean a second definition of the contract (README.md / config.json are also
# written by other tools into other folders, e.g. the demo dataset's card: those are checked by suffix).
CONTRACT_NAMES = sorted(
    {
        value
        for name, value in vars(layout).items()
        if name.isupper() and isinstance(value, str) and "." in value and value != layout.MODEL_CARD
    }
)


def test_no_module_spells_a_contract_file_name() -> None:
    pattern = re.compile("|".join(re.escape(f'"{name}"') for name in CONTRACT_NAMES))
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in PACKAGE.rglob("*.py")
        if path != Path(layout.__file__)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert offenders == [], "import the name from hf_aidetect.files.layout instead:\n" + "\n".join(offenders)


def test_evaluation_files_are_relative_to_the_run_folder() -> None:
    assert layout.evaluation_file(layout.REPORT_METRICS) == "evaluation/metrics.json"
    assert layout.split_results("test") == "test_results.json"
    assert layout.ALL_RESULTS in layout.RUN_OUTPUTS and layout.CONFIG in layout.RUN_OUTPUTS
