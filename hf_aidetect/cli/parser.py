"""One flag convention for every subcommand: kebab-case names, the other spelling always accepted.

``--batch-size`` and ``--batch_size`` are the same flag in every command (``train`` takes transformers'
snake_case names, which answer to the kebab spelling too), and the same things have the same names
everywhere: ``--output-dir`` (a folder written), ``--output`` (a file written), ``--batch-size``,
``--num-workers``, ``--device``, ``--threshold``. A few older names stay as hidden aliases (``--out``,
``--output-root``). Abbreviations are off: a misspelt flag is an error, never a silent prefix match;
and a value flag given twice (in any spelling) is an error, never "the last one wins".
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

FLAG_NOTE = (
    "Every --long-flag also takes its other spelling (--batch-size = --batch_size); -q / -v work before or "
    "after the command."
)


class CommandParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` that maps either spelling of a flag, and registered aliases, to the
    flag as declared before parsing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.aliases: dict[str, str] = {}

    def add_alias(self, alias: str, flag: str) -> None:
        """``alias`` (e.g. ``--out``) means ``flag`` (e.g. ``--output-dir``); not shown in ``--help``."""
        self.aliases[alias] = flag

    def canonical(self, name: str) -> str:
        """The declared spelling of ``--name``, or ``name`` itself when this parser does not know it."""
        known = self._option_string_actions
        body = name[2:]
        for candidate in (name, f"--{body.replace('_', '-')}", f"--{body.replace('-', '_')}"):
            if candidate in known:
                return candidate
            if candidate in self.aliases:
                return self.aliases[candidate]
        return name

    def normalize(self, args: Sequence[str]) -> list[str]:
        """``args`` with every long flag this parser knows spelt as declared (up to a bare ``--``)."""
        out: list[str] = []
        for index, token in enumerate(args):
            if token == "--":
                out.extend(args[index:])
                break
            if token.startswith("--") and len(token) > 2:
                name, sep, value = token.partition("=")
                token = self.canonical(name) + sep + value
            out.append(token)
        return out

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        args = list(sys.argv[1:] if args is None else args)
        self._refuse_repeats(args)
        return super().parse_known_args(self.normalize(args), namespace)

    def _refuse_repeats(self, args: Sequence[str]) -> None:
        """A value flag given twice (``--output-dir A --output_dir B``) is an error, not "the last wins":
        with both spellings accepted, and recipe flags passed through, a repeat is almost always a slip."""
        seen: dict[str, str] = {}
        for token in args:
            if token == "--":
                break
            name = token.partition("=")[0]
            if not name.startswith("--"):
                continue
            action = self._option_string_actions.get(self.canonical(name))
            if action is None or not isinstance(action, argparse._StoreAction):
                continue
            key = action.dest
            if key in seen:
                self.error(f"{name} given twice (also as {seen[key]}): give it once")
            seen[key] = name


def add_verbosity(parser: argparse.ArgumentParser, *, inherited: bool = False) -> None:
    """``-v`` / ``-q``; on a subcommand (``inherited``) they keep what was given before the command."""
    default = argparse.SUPPRESS if inherited else False
    group = parser.add_argument_group("output") if inherited else parser
    group.add_argument("-v", "--verbose", action="store_true", default=default, help="Debug logging.")
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default,
        help="Only warnings and errors (no progress bars, no weight-loading bars).",
    )


def add_output_dir(
    parser: CommandParser,
    *,
    what: str,
    required: bool = False,
    default: Any = None,
    aliases: Sequence[str] = (),
) -> None:
    """``--output-dir DIR``: the folder a command writes (``what`` says which)."""
    parser.add_argument(
        "--output-dir", dest="output_dir", metavar="DIR", required=required, default=default, help=what
    )
    for alias in aliases:
        parser.add_alias(alias, "--output-dir")


def add_batch_size(parser: argparse.ArgumentParser, default: int = 32) -> None:
    parser.add_argument(
        "--batch-size", type=int, default=default, help=f"Images per forward pass (default {default})."
    )


def add_num_workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--num-workers",
        type=int,
        default=None,
        help="Decode worker processes (default: by device and cores, none for a single batch).",
    )


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device", default="auto", help="auto (CUDA when available, else CPU), cpu, cuda, cuda:1, mps, ..."
    )


def add_threshold(parser: argparse.ArgumentParser, container: Any = None) -> None:
    """``--threshold T``: fake iff P(fake) >= T (``container``: e.g. a mutually exclusive group)."""
    (container or parser).add_argument(
        "--threshold",
        type=float,
        default=None,
        help="fake iff P(fake) >= this (default: the model's own rule, its top label).",
    )
