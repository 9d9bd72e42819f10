"""The ``hf-aidetect`` console script.

Every module in :mod:`hf_aidetect.cli.commands` is one subcommand. It defines ``NAME`` (the subcommand),
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int`` (the exit status), and may define
``interrupted(args) -> str`` (what to tell the user after Ctrl-C). Discovery keeps commands independent of
each other: adding one never touches this file. Command modules import nothing heavy at module level, so
``--help`` and ``--version`` answer at once (see ``benchmarks/`` for the start-up time).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType

from hf_aidetect import __version__
from hf_aidetect._logging import configure_logging
from hf_aidetect._shutdown import freeze_heap_at_exit
from hf_aidetect.cli import commands
from hf_aidetect.cli.parser import FLAG_NOTE, CommandParser, add_verbosity
from hf_aidetect.errors import AIDetectError, one_line

logger = logging.getLogger("hf_aidetect")


def _command_modules() -> list[ModuleType]:
    modules = [
        importlib.import_module(f"{commands.__name__}.{info.name}")
        for info in pkgutil.iter_modules(commands.__path__)
        if not info.name.startswith("_")
    ]
    return sorted(modules, key=lambda module: (getattr(module, "ORDER", 100), module.NAME))


def build_parser() -> CommandParser:
    parser = CommandParser(
        prog="hf-aidetect",
        description="Train, evaluate, explain and publish detectors of AI-generated face images.",
        epilog=f"{FLAG_NOTE} `hf-aidetect COMMAND --help` for a command's flags.",
    )
    parser.add_argument("--version", action="version", version=f"hf-aidetect {__version__}")
    add_verbosity(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    for module in _command_modules():
        sub = subparsers.add_parser(
            module.NAME,
            help=module.HELP.replace("%", "%%"),  # argparse %-formats help strings ("1 % FPR")
            description=(module.__doc__ or module.HELP).strip(),
            epilog=FLAG_NOTE,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        add_verbosity(sub, inherited=True)
        sub.set_defaults(_run=module.run, _module=module)
    return parser


def quiet_progress_bars() -> None:
    """``-q``: no progress bars from the Hugging Face libraries (weight loading, downloads, ``map``) or
    ours (they use huggingface_hub's tqdm). The variables are read at import; loaded libraries are told."""
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] = "1"
    if "huggingface_hub" in sys.modules:
        sys.modules["huggingface_hub"].utils.disable_progress_bars()
    if "transformers" in sys.modules:
        sys.modules["transformers"].utils.logging.disable_progress_bar()
    if "datasets" in sys.modules:
        sys.modules["datasets"].disable_progress_bars()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if extra and not getattr(args, "_accepts_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra_args = extra
    freeze_heap_at_exit()
    configure_logging(logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO)
    if args.quiet:
        quiet_progress_bars()
    try:
        return int(args._run(args) or 0)
    except AIDetectError as error:
        return _fail(args.command, one_line(error), 2)
    except KeyboardInterrupt:
        return _fail(args.command, _interrupted(args), 130)
    except OSError as error:
        _traceback_if(args.verbose)
        return _fail(args.command, describe_fault(error), 1)
    except Exception as error:  # a fault we did not foresee: still one line; -v shows the traceback
        _traceback_if(args.verbose)
        hint = "" if args.verbose else " (re-run with -v to see the traceback)"
        return _fail(args.command, f"{type(error).__name__}: {one_line(error)}{hint}", 1)


def _interrupted(args: argparse.Namespace) -> str:
    """The command's own advice after Ctrl-C (e.g. train's resume command), else the general one."""
    advice = getattr(args._module, "interrupted", None)
    try:
        text = advice(args) if advice is not None else None
    except Exception:  # advice must never hide the interruption itself
        logger.debug("no interruption advice", exc_info=True)
        text = None
    return text or "interrupted (outputs are written atomically: none is half-written)"


def _traceback_if(verbose: bool) -> None:
    if verbose:
        traceback.print_exc(file=sys.stderr)


def _fail(command: str, message: str, status: int) -> int:
    _close_progress_bars()  # so the error starts on a line of its own
    print(f"hf-aidetect {command}: error: {message}", file=sys.stderr)
    return status


def _close_progress_bars() -> None:
    """Close the progress bars an exception left open (tqdm would keep the cursor on their line)."""
    tqdm_module = sys.modules.get("tqdm")
    if tqdm_module is None:
        return
    for bar in list(getattr(tqdm_module.tqdm, "_instances", ())):
        try:
            bar.close()
        except Exception:  # a bar of a dead stream: nothing to tidy
            logger.debug("could not close a progress bar", exc_info=True)


def describe_fault(error: OSError) -> str:
    """``PATH: plain words`` for an operating-system error (disk full, permission denied, ...)."""
    from hf_aidetect.files import describe_os_error

    where = error.filename or ""
    words = describe_os_error(error)
    return f"{where}: {words}" if where else words


if __name__ == "__main__":
    sys.exit(main())
