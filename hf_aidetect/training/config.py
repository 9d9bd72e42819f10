"""Recipe parsing, TRL / alignment-handbook style: ``--config recipe.yaml`` sets defaults, CLI flags override.

Unknown keys, in the YAML file or on the command line, are a :class:`~hf_aidetect.errors.ConfigError` naming
the key and where it came from. Everything else is ``HfArgumentParser``.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from transformers import HfArgumentParser

from hf_aidetect.errors import ConfigError

logger = logging.getLogger(__name__)


def default_dataclass_types() -> tuple[type, ...]:
    """(ScriptArguments, DetectionTrainingArguments, ModelArguments): the order recipe ``main`` takes."""
    from hf_aidetect.models.arguments import ModelArguments
    from hf_aidetect.training.arguments import DetectionTrainingArguments, ScriptArguments

    return ScriptArguments, DetectionTrainingArguments, ModelArguments


def load_yaml_config(path: str | Path) -> dict[str, Any]:
    """Read a flat YAML mapping of argument names to values."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {path} does not exist; pass an existing recipe YAML to --config.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"Config file {path} is not valid YAML: {error}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {path} must be a mapping of argument names to values.")
    return data


def _known_names(dataclass_types: Sequence[type]) -> list[str]:
    return [f.name for dtype in dataclass_types for f in dataclasses.fields(dtype) if f.init]


def _unknown_key_error(key: str, where: str, known: list[str]) -> ConfigError:
    hint = difflib.get_close_matches(key, known, n=1)
    suggestion = f" Did you mean '{hint[0]}'?" if hint else ""
    names = "--help (or hf-aidetect train --list-flags)"
    return ConfigError(f"Unknown key '{key}' in {where}.{suggestion} Accepted names: {names}.")


def _split_config_flag(argv: list[str]) -> tuple[str | None, list[str]]:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    namespace, rest = pre.parse_known_args(argv)
    return namespace.config, rest


def _set_yaml_defaults(
    parser: HfArgumentParser, config: dict[str, Any], where: str, known: list[str]
) -> None:
    """Make each YAML value the default of its argparse action(s); CLI flags then override it."""
    by_dest: dict[str, list[argparse.Action]] = {}
    for action in parser._actions:
        by_dest.setdefault(action.dest, []).append(action)
    for key, value in config.items():
        if key not in by_dest or key not in known:
            raise _unknown_key_error(str(key), where, known)
        for action in by_dest[key]:
            action.default = value
            action.required = False


def parse_recipe_args(
    argv: Sequence[str] | None = None,
    dataclass_types: Sequence[type] | None = None,
    *,
    config: str | Path | None = None,
) -> tuple[Any, ...]:
    """Parse ``[--config FILE] [--flag value ...]`` into one instance per dataclass type.

    ``argv`` defaults to ``sys.argv[1:]``; ``config`` is used when ``argv`` has no ``--config``. Values
    from the YAML are defaults, flags override them, and an unknown key or flag raises ``ConfigError``.
    """
    import sys

    types = tuple(dataclass_types or default_dataclass_types())
    args = list(sys.argv[1:] if argv is None else argv)
    config_path, args = _split_config_flag(args)
    config_path = config_path or (str(config) if config is not None else None)
    # No abbreviations: argparse would otherwise accept a misspelt prefix like --learning_rat silently.
    parser = HfArgumentParser(types, allow_abbrev=False)
    known = _known_names(types)
    if config_path is not None:
        _set_yaml_defaults(parser, load_yaml_config(config_path), f"config file {config_path}", known)
    try:
        *instances, remaining = parser.parse_args_into_dataclasses(args=args, return_remaining_strings=True)
    except (TypeError, ValueError) as error:
        if isinstance(error, ConfigError):
            raise
        where = f" (config file {config_path})" if config_path else ""
        raise ConfigError(f"Invalid training arguments{where}: {error}") from error
    if remaining:
        flag = next((item for item in remaining if item.startswith("-")), remaining[0])
        raise _unknown_key_error(flag.lstrip("-").split("=")[0], "the command-line arguments", known)
    return tuple(instances)


def parse_dict_args(
    values: dict[str, Any], dataclass_types: Sequence[type] | None = None, *, where: str = "the arguments"
) -> tuple[Any, ...]:
    """Programmatic twin of :func:`parse_recipe_args`: a flat dict (e.g. a sweep point) to dataclasses."""
    types = tuple(dataclass_types or default_dataclass_types())
    known = _known_names(types)
    for key in values:
        if key not in known:
            raise _unknown_key_error(str(key), where, known)
    try:
        return tuple(HfArgumentParser(types).parse_dict(dict(values)))
    except (TypeError, ValueError) as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(f"Invalid training arguments in {where}: {error}") from error
