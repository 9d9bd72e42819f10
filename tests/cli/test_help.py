"""Every ``--help`` page renders (a help string with a bare ``%`` used to crash argparse)."""

from __future__ import annotations

import pytest

from hf_aidetect.cli import _command_modules
from hf_aidetect.cli import main as cli_main

COMMANDS = [module.NAME for module in _command_modules()]


def test_top_level_help(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"hf-aidetect {command}" in capsys.readouterr().out
