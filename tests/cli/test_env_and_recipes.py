"""`hf-aidetect env` (what a bug report needs) and `hf-aidetect recipes` (the shipped recipes, by name)."""

from __future__ import annotations

import json
from importlib.metadata import version

import yaml

from hf_aidetect.cli import main as cli_main
from hf_aidetect.recipes import list_recipes, recipe_path


def test_env_lists_versions_devices_and_bf16(capsys, monkeypatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secretsecretsecret")
    assert cli_main(["env"]) == 0
    text = capsys.readouterr().out
    assert f"- transformers: {version('transformers')}" in text
    assert f"- torch: {version('torch')}" in text and "- hf_aidetect: 0.1.0" in text
    assert "- CUDA available: " in text and "- CPU bf16 (native, used by --auto_bf16): " in text
    assert "- Hub token set: True" in text and "hf_secret" not in text
    assert cli_main(["env", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["datasets"] == version("datasets") and "optional" in info


def test_recipes_lists_and_prints_them(capsys) -> None:
    assert cli_main(["recipes"]) == 0
    table = capsys.readouterr().out
    names = [recipe.name for recipe in list_recipes()]
    assert {"vit_base", "vit_seed", "cnn_seed", "demo_cnn", "demo_vit", "cnn_grid", "vit_grid"} <= set(names)
    assert all(f"| {name} " in table for name in names)
    assert cli_main(["recipes", "vit_base"]) == 0
    printed = capsys.readouterr().out
    assert printed == recipe_path("vit_base").read_text(encoding="utf-8")
    assert yaml.safe_load(printed)["model_name_or_path"] == "google/vit-base-patch16-224-in21k"
    assert cli_main(["recipes", "cnn_grid", "--path"]) == 0
    assert capsys.readouterr().out.strip().endswith("hf_aidetect/recipes/sweeps/cnn_grid.yaml")
    assert cli_main(["recipes", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no shipped recipe 'nope'; the recipes are: " in err and "vit_base" in err


def test_shipped_recipes_live_inside_the_package() -> None:
    import hf_aidetect

    package = recipe_path("vit_base").parents[1]
    assert package == __import__("pathlib").Path(hf_aidetect.__file__).parent
