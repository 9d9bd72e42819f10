"""Recipe parsing, TRL / alignment-handbook style: ``--config recipe.yaml`` sets defaults, CLI flags override.

A recipe is flat or nested YAML: the blocks ``preprocess:``, ``augment:``, ``pipeline:`` and ``report:``
hold the fields of their argument group (``augment: false`` switches augmentation off); any field may
also be given flat (``hflip_prob: 0.5``, ``--hflip_prob 0.5``, ``--hflip-prob 0.5``). ``--config`` takes a
YAML file or a shipped recipe's name (:mod:`hf_aidetect.recipes`). The other commands' names for the same
things work too (``--batch-size``, ``--num-workers``, ``--device cpu``; :mod:`hf_aidetect.training.flags`).
Unknown keys, and flags that mean nothing for image classification (``--do_train``), in the YAML file or on
the command line, are a :class:`~hf_aidetect.errors.ConfigError` naming the key and where it came from.
Everything else is ``HfArgumentParser``; the parsed groups are attached to ``ScriptArguments`` so a
recipe ``main`` takes ``(script_args, training_args, model_args)``.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from transformers import HfArgumentParser

from hf_aidetect.errors import ConfigError
from hf_aidetect.training.flags import COMMAND_LINE, translate

logger = logging.getLogger(__name__)

# Recipe block name -> attribute of ScriptArguments holding that argument group.
BLOCKS = ("preprocess", "augment", "pipeline", "report")
# Old flat names still accepted (with a warning), and what they are called now.
RENAMED = {"preresize_cache": "decode_cache", "preresize_cache_dir": "decode_cache_dir"}


def argument_groups() -> dict[str, type]:
    """Every argument group a recipe fills, by name, in parsing order."""
    from hf_aidetect.data.preprocessing.config import AugmentConfig, PipelineConfig, PreprocessConfig
    from hf_aidetect.models.arguments import ModelArguments
    from hf_aidetect.training.arguments import DetectionTrainingArguments, ReportArguments, ScriptArguments

    return {
        "script": ScriptArguments,
        "preprocess": PreprocessConfig,
        "augment": AugmentConfig,
        "pipeline": PipelineConfig,
        "report": ReportArguments,
        "training": DetectionTrainingArguments,
        "model": ModelArguments,
    }


def default_dataclass_types() -> tuple[type, ...]:
    """Every argument group's dataclass, in parsing order (what ``HfArgumentParser`` is given)."""
    return tuple(argument_groups().values())


def argument_names() -> set[str]:
    """Every flat recipe key / CLI flag name (without the dashes)."""
    return {name for group in argument_groups().values() for name in _fields(group)}


def load_yaml_config(path: str | Path) -> dict[str, Any]:
    """Read a recipe YAML mapping (flat or with blocks): a file, or a shipped recipe by name."""
    from hf_aidetect.recipes import recipe_path

    path = recipe_path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"Config file {path} is not valid YAML: {error}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {path} must be a mapping of argument names to values.")
    return data


def _fields(dataclass_type: type) -> list[str]:
    return [f.name for f in dataclasses.fields(dataclass_type) if f.init]


def _unknown_key_error(key: str, where: str, known: Sequence[str]) -> ConfigError:
    hint = difflib.get_close_matches(key, list(known), n=1)
    suggestion = f" Did you mean '{hint[0]}'?" if hint else ""
    names = "--help (or hf-aidetect train --list-flags)"
    return ConfigError(f"Unknown key '{key}' in {where}.{suggestion} Accepted names: {names}.")


def flatten_config(values: Mapping[str, Any], where: str, groups: Mapping[str, type]) -> dict[str, Any]:
    """Recipe blocks expanded to flat field names, old names renamed; unknown keys are errors."""
    flat: dict[str, Any] = {}
    known = [name for group in groups.values() for name in _fields(group)]
    for key, value in values.items():
        if key in BLOCKS and key in groups and isinstance(value, Mapping):
            fields = _fields(groups[key])
            for inner, inner_value in value.items():
                if inner not in fields:
                    raise _unknown_key_error(f"{key}.{inner}", where, [f"{key}.{f}" for f in fields])
                flat[inner] = inner_value
            continue
        if key == "augment" and isinstance(value, bool):
            flat["augment"] = value
            continue
        if key in RENAMED:
            logger.warning("'%s' in %s is now called '%s'.", key, where, RENAMED[key])
            key = RENAMED[key]
        for name, item in translate(str(key), value, where).items():
            if name not in known:
                raise _unknown_key_error(name, where, known)
            flat[name] = item
    return flat


def _split_config_flag(argv: list[str]) -> tuple[str | None, list[str]]:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    namespace, rest = pre.parse_known_args(argv)
    return namespace.config, rest


def _rename_flags(argv: list[str]) -> list[str]:
    """Old names renamed (with a warning), aliases and ``--device`` translated, rejected flags refused."""
    where = COMMAND_LINE
    out: list[str] = []
    items = iter(argv)
    for item in items:
        name, sep, value = item.partition("=")
        if not name.startswith("--") or item == "--":
            out.append(item)
            continue
        key = name[2:].replace("-", "_")
        if key in RENAMED:
            logger.warning("--%s is now called --%s.", name[2:], RENAMED[key])
            out.append(f"--{RENAMED[key]}{sep}{value}")
        elif key in ("device", "threshold"):
            setting = value if sep else next(items, "")
            for flag, translated in translate(key, setting, where).items():
                out += [f"--{flag}", str(translated).lower()]
        else:
            (target,) = translate(key, None, where)  # an alias renamed; a rejected flag raises
            out.append(item if target == key else f"--{target}{sep}{value}")
    return out


def _set_yaml_defaults(parser: HfArgumentParser, config: dict[str, Any]) -> None:
    """Make each (flattened) YAML value the default of its argparse action(s); CLI flags then override."""
    by_dest: dict[str, list[argparse.Action]] = {}
    for action in parser._actions:
        by_dest.setdefault(action.dest, []).append(action)
    for key, value in config.items():
        for action in by_dest[key]:
            action.default = value
            action.required = False


def _compose(instances: Sequence[Any], groups: Mapping[str, type]) -> tuple[Any, Any, Any]:
    """Attach the preprocessing / report groups to ScriptArguments; return (script, training, model)."""
    by_name = dict(zip(groups, instances))
    script = by_name["script"]
    for block in BLOCKS:
        setattr(script, block, by_name[block])
    return script, by_name["training"], by_name["model"]


def _parse_error(error: Exception, where: str) -> ConfigError:
    return (
        error
        if isinstance(error, ConfigError)
        else ConfigError(f"Invalid training arguments{where}: {error}")
    )


def parse_recipe_args(
    argv: Sequence[str] | None = None, *, config: str | Path | None = None
) -> tuple[Any, Any, Any]:
    """Parse ``[--config FILE] [--flag value ...]`` into (ScriptArguments, training args, model args).

    ``argv`` defaults to ``sys.argv[1:]``; ``config`` is used when ``argv`` has no ``--config``. Values
    from the YAML are defaults, flags override them, and an unknown key or flag raises ``ConfigError``.
    """
    import sys

    groups = argument_groups()
    args = list(sys.argv[1:] if argv is None else argv)
    config_path, args = _split_config_flag(args)
    config_path = config_path or (str(config) if config is not None else None)
    # No abbreviations: argparse would otherwise accept a misspelt prefix like --learning_rat silently.
    parser = HfArgumentParser(tuple(groups.values()), allow_abbrev=False)
    known = [name for group in groups.values() for name in _fields(group)]
    if config_path is not None:
        where = f"config file {config_path}"
        _set_yaml_defaults(parser, flatten_config(load_yaml_config(config_path), where, groups))
    try:
        *instances, remaining = parser.parse_args_into_dataclasses(
            args=_rename_flags(args), return_remaining_strings=True
        )
    except (TypeError, ValueError) as error:
        raise _parse_error(error, f" (config file {config_path})" if config_path else "") from error
    if remaining:
        flag = next((item for item in remaining if item.startswith("-")), remaining[0])
        raise _unknown_key_error(flag.lstrip("-").split("=")[0], "the command-line arguments", known)
    return _compose(instances, groups)


def parse_dict_args(values: Mapping[str, Any], *, where: str = "the arguments") -> tuple[Any, Any, Any]:
    """Programmatic twin of :func:`parse_recipe_args`: a dict (flat or with blocks) to the three groups."""
    groups = argument_groups()
    flat = flatten_config(values, where, groups)
    try:
        instances = HfArgumentParser(tuple(groups.values())).parse_dict(flat)
    except (TypeError, ValueError) as error:
        raise _parse_error(error, f" in {where}") from error
    return _compose(instances, groups)
