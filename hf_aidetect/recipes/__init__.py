"""The shipped recipes: YAML files inside the package (so a wheel install has them), found by name.

::

    hf-aidetect recipes                               # what ships, with each recipe's first comment line
    hf-aidetect recipes vit_base                      # print one (copy it to start your own)
    hf-aidetect train --config vit_base ...           # by name; a path to your own YAML works as ever
    hf-aidetect sweep cnn_grid --dataset DATA         # sweep grids (``sweeps/``) by name too

Training recipes are ``hf_aidetect/recipes/*.yaml``, sweep grids ``hf_aidetect/recipes/sweeps/*.yaml``. A
path that does not exist but whose file name is a shipped recipe (``recipes/vit_base.yaml``, the name the
commands in a recipe's own header and older docs use) resolves to the shipped one, with a log line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hf_aidetect.errors import ConfigError

logger = logging.getLogger(__name__)

RECIPES_DIR = Path(__file__).resolve().parent
SWEEPS_DIR = RECIPES_DIR / "sweeps"
Kind = Literal["training", "sweep"]
_FOLDERS: dict[str, Path] = {"training": RECIPES_DIR, "sweep": SWEEPS_DIR}


@dataclass(frozen=True)
class Recipe:
    """A shipped recipe: its name, file, kind and the first line of its header comment."""

    name: str
    path: Path
    kind: Kind
    description: str

    @property
    def model(self) -> str:
        """What the recipe trains (``model_type`` / ``model_name_or_path``), or its sweep's base recipe."""
        import yaml

        data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        if self.kind == "sweep":
            return f"grid over {Path(str(data.get('base', '?'))).stem}"
        return str(data.get("model_name_or_path") or data.get("model_type") or "?")


def _description(path: Path) -> str:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip()
        if not text or text.startswith(("python ", "hf-aidetect ", "accelerate ")):
            break
        lines.append(text)
    return " ".join(lines).split(". ")[0].rstrip(".")


def list_recipes(kind: Kind | None = None) -> list[Recipe]:
    """Every shipped recipe (training recipes first, then sweep grids), by name."""
    kinds: list[Kind] = [kind] if kind else ["training", "sweep"]
    return [
        Recipe(path.stem, path, item, _description(path))
        for item in kinds
        for path in sorted(_FOLDERS[item].glob("*.yaml"))
    ]


def recipe_path(name_or_path: str | Path, kind: Kind = "training") -> Path:
    """The YAML file for ``name_or_path``: an existing file as it is, else the shipped recipe of that name.

    ``vit_base``, ``vit_base.yaml`` and a missing ``recipes/vit_base.yaml`` all name the shipped recipe;
    anything else is a :class:`~hf_aidetect.errors.ConfigError` listing the shipped names.
    """
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    shipped = _FOLDERS[kind] / f"{path.stem}.yaml"
    if path.suffix in ("", ".yaml", ".yml") and shipped.is_file():
        if path.parent != Path(".") or path.suffix:
            logger.info("%s is not a file here; using the shipped recipe %s (%s).", path, path.stem, shipped)
        return shipped
    names = ", ".join(recipe.name for recipe in list_recipes(kind))
    flag = "SWEEP_FILE" if kind == "sweep" else "--config"
    raise ConfigError(
        f"{flag} {name_or_path} does not exist and is not a shipped {kind} recipe; pass a YAML file or "
        f"one of: {names} (see `hf-aidetect recipes`)."
    )
