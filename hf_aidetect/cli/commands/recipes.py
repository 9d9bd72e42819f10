"""The recipes that ship with hf_aidetect (inside the package, so a wheel install has them too).

Without NAME: one line per recipe (training recipes, then sweep grids) with what it trains and its
purpose. With NAME: the recipe's YAML on stdout (start your own from it: `hf-aidetect recipes vit_base >
my.yaml`), or with --path only where the file is. Every command takes a recipe by name:

  hf-aidetect train --config vit_base --dataset DATA --output_dir runs/vit
  hf-aidetect sweep cnn_grid --dataset DATA
  accelerate launch recipes/finetune_vit.py --config vit_seed --dataset DATA --output_dir runs/vit
"""

from __future__ import annotations

import argparse
import sys

from hf_aidetect.cli.parser import CommandParser

NAME = "recipes"
HELP = "List the shipped recipes (or print one) to train by name: train --config vit_base."
ORDER = 12


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("name", metavar="NAME", nargs="?", default=None, help="A recipe to print.")
    parser.add_argument("--path", action="store_true", help="With NAME: print only the file's path.")


def run(args: argparse.Namespace) -> int:
    from hf_aidetect.errors import ConfigError
    from hf_aidetect.markdown import markdown_table
    from hf_aidetect.recipes import list_recipes, recipe_path

    if args.name is None:
        if args.path:
            raise ConfigError("--path needs a recipe NAME (hf-aidetect recipes NAME --path)")
        rows = [[recipe.name, recipe.kind, recipe.model, recipe.description] for recipe in list_recipes()]
        sys.stdout.write(markdown_table(["recipe", "kind", "model", "what it is"], rows) + "\n")
        return 0
    try:
        path = recipe_path(args.name)
    except ConfigError:
        try:
            path = recipe_path(args.name, kind="sweep")
        except ConfigError:
            names = ", ".join(recipe.name for recipe in list_recipes())
            raise ConfigError(f"no shipped recipe {args.name!r}; the recipes are: {names}") from None
    sys.stdout.write(f"{path}\n" if args.path else path.read_text(encoding="utf-8"))
    return 0
