"""``train``: the one training call for Python users and the recipe scripts.

::

    import hf_aidetect

    hf_aidetect.train("demo_cnn", dataset="data/demo", output_dir="runs/cnn")        # a shipped recipe
    hf_aidetect.train("my_recipe.yaml", dataset="faces/", num_train_epochs=3)        # your YAML
    hf_aidetect.train({"model_type": "seed_cnn", "dataset": "faces/", "output_dir": "runs/cnn"})
    hf_aidetect.train(script_args, training_args, model_args)                        # parsed groups

Keywords override the recipe's values (the same names as the YAML keys and CLI flags, aliases included:
``batch_size=64``); unknown names are a :class:`~hf_aidetect.errors.ConfigError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from hf_aidetect.errors import ConfigError
from hf_aidetect.models.arguments import ModelArguments
from hf_aidetect.training.arguments import DetectionTrainingArguments, ScriptArguments


def train(
    config: ScriptArguments | Mapping[str, Any] | str | os.PathLike | None = None,
    training_args: DetectionTrainingArguments | None = None,
    model_args: ModelArguments | None = None,
    /,
    **overrides: Any,
) -> dict[str, Any]:
    """Fine-tune a detector and write its output folder; returns the metrics of ``all_results.json``.

    ``config`` is a recipe (a shipped name such as ``"vit_base"`` or a YAML path), a dict of recipe keys
    (flat or with ``preprocess:`` / ``augment:`` / ``pipeline:`` / ``report:`` blocks), nothing, or the
    parsed ``ScriptArguments`` followed by ``training_args`` and ``model_args``. ``overrides`` win over
    the recipe. See :func:`hf_aidetect.training.runner.train` for what the run does and writes.
    """
    from hf_aidetect.training.config import load_yaml_config, parse_dict_args
    from hf_aidetect.training.runner import train as run_training

    if isinstance(config, ScriptArguments):
        if training_args is None or model_args is None or overrides:
            raise ConfigError(
                "train(script_args, training_args, model_args) takes the three parsed groups and nothing "
                "else; to override values, pass a recipe or a dict: train('vit_base', learning_rate=1e-4)"
            )
        return run_training(config, training_args, model_args)
    if training_args is not None or model_args is not None:
        raise ConfigError("train(): pass argument groups only together with ScriptArguments first")
    if config is None:
        values, where = {}, "the keyword arguments"
    elif isinstance(config, Mapping):
        values, where = dict(config), "the dict given to train()"
    else:
        values, where = load_yaml_config(config), f"recipe {os.fspath(config)} or the keyword arguments"
    return run_training(*parse_dict_args({**values, **overrides}, where=where))
