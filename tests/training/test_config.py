"""YAML + CLI parsing: YAML sets defaults, flags override, unknown keys name the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_aidetect.errors import ConfigError
from hf_aidetect.training.config import parse_dict_args, parse_recipe_args

RECIPES = Path(__file__).resolve().parents[2] / "hf_aidetect" / "recipes"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_sets_defaults_and_cli_overrides(tmp_path: Path) -> None:
    recipe = _write(
        tmp_path,
        "dataset: data/faces\nmodel_type: seed_cnn\nlearning_rate: 1e-3\nper_device_train_batch_size: 16\n"
        "class_weights: [1.0, 2.5]\nconfig_overrides: {dropout: 0.2}\n"
        "geometry: resize\ncrop_scale: [0.5, 1.0]\n"
        "load_best_model_at_end: false\n",
    )
    script, training, model = parse_recipe_args(
        ["--config", str(recipe), "--per_device_train_batch_size", "4", "--output_dir", str(tmp_path / "o")]
    )
    assert script.dataset == "data/faces"
    assert training.learning_rate == pytest.approx(1e-3)  # YAML 1.1 reads 1e-3 as a string; argparse converts
    assert training.per_device_train_batch_size == 4  # the flag wins
    assert training.output_dir == str(tmp_path / "o")
    assert training.load_best_model_at_end is False
    assert training.class_weights == [1.0, 2.5]
    assert script.preprocess.geometry == "resize" and script.preprocess.crop_scale == [0.5, 1.0]
    assert model.model_type == "seed_cnn" and model.config_overrides == {"dropout": 0.2}


def test_detection_defaults(tmp_path: Path) -> None:
    _, training, _ = parse_recipe_args(
        ["--dataset", "x", "--model_type", "vit", "--output_dir", str(tmp_path)]
    )
    assert training.metric_for_best_model == "roc_auc" and training.greater_is_better is True
    assert str(training.eval_strategy.value) == "epoch" and str(training.save_strategy.value) == "epoch"
    assert training.load_best_model_at_end is True and training.remove_unused_columns is False
    assert training.dataloader_num_workers is not None and training.report_to == []


def test_unknown_yaml_key_names_key_and_file(tmp_path: Path) -> None:
    recipe = _write(tmp_path, "dataset: x\nmodel_type: vit\nlearning_rat: 0.1\n")
    with pytest.raises(ConfigError, match=r"learning_rat.*recipe\.yaml.*learning_rate"):
        parse_recipe_args(["--config", str(recipe)])


def test_unknown_cli_flag_is_an_error(tmp_path: Path) -> None:
    recipe = _write(tmp_path, "dataset: x\nmodel_type: vit\n")
    with pytest.raises(ConfigError, match=r"epochs.*command-line"):
        parse_recipe_args(["--config", str(recipe), "--epochs", "3"])
    with pytest.raises(ConfigError, match=r"learning_rat\b.*learning_rate"):  # no silent prefix matching
        parse_recipe_args(["--config", str(recipe), "--learning_rat", "3"])


def test_missing_config_file_and_bad_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        parse_recipe_args(["--config", str(tmp_path / "nope.yaml")])
    with pytest.raises(ConfigError, match="class_weights"):
        parse_dict_args({"dataset": "x", "model_type": "vit", "class_weights": "heavy"})
    with pytest.raises(ConfigError, match="learning_rat"):
        parse_dict_args({"dataset": "x", "model_type": "vit", "learning_rat": 1.0}, where="sweep point 3")


@pytest.mark.parametrize("name", sorted(p.name for p in RECIPES.glob("*.yaml")))
def test_shipped_recipes_parse(name: str, tmp_path: Path) -> None:
    script, training, model = parse_recipe_args(
        ["--config", str(RECIPES / name), "--dataset", "some/data", "--output_dir", str(tmp_path)]
    )
    assert script.dataset == "some/data" and training.output_dir == str(tmp_path)
    assert model.model_name_or_path or model.model_type


DETECTION_RECIPES = ("demo_cnn.yaml", "demo_vit.yaml", "cnn_seed.yaml", "vit_base.yaml", "vit_seed.yaml")


@pytest.mark.parametrize("name", DETECTION_RECIPES)
def test_detection_recipes_keep_native_pixels(name: str, tmp_path: Path) -> None:
    """Every detection recipe crops at native resolution (no resampling) at an explicit input side."""
    script, _, model = parse_recipe_args(
        ["--config", str(RECIPES / name), "--dataset", "d", "--output_dir", str(tmp_path)]
    )
    assert script.preprocess.geometry == "crop" and not script.preprocess.resamples
    assert model.image_size is not None
    assert "Pixels:" in (RECIPES / name).read_text()  # the comment says what happens to them


def test_nested_blocks_flat_aliases_and_renamed_keys(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recipe = _write(
        tmp_path,
        "dataset: x\nmodel_type: seed_cnn\npreprocess: {geometry: crop}\n"
        "augment: {hflip_prob: 0.2, jpeg_prob: 0.3}\n"
        "pipeline: {decode_cache: true}\nreport: {robustness_samples: 7}\nblur_prob: 0.4\n"
        "preresize_cache_dir: /tmp/c\n",
    )
    script, _, _ = parse_recipe_args(["--config", str(recipe), "--jpeg_prob", "0.6"])
    assert script.preprocess.geometry == "crop"
    assert (script.augment.hflip_prob, script.augment.jpeg_prob, script.augment.blur_prob) == (0.2, 0.6, 0.4)
    assert script.pipeline.decode_cache is True and script.pipeline.decode_cache_dir == "/tmp/c"
    assert script.report.robustness_samples == 7
    assert "now called 'decode_cache_dir'" in caplog.text
    off, _, _ = parse_dict_args({"dataset": "x", "model_type": "vit", "augment": False})
    assert off.augment.enabled is False
    nested, _, _ = parse_dict_args({"dataset": "x", "model_type": "vit", "augment": {"hflip_prob": 0.0}})
    assert nested.augment.hflip_prob == 0.0 and nested.augment.enabled


def test_block_keys_are_checked_and_validated_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"augment\.hflip.*augment\.hflip_prob"):
        parse_dict_args({"dataset": "x", "model_type": "vit", "augment": {"hflip": 0.5}})
    with pytest.raises(ConfigError, match="crop_scale"):  # a resampling setting under the crop geometry
        parse_dict_args({"dataset": "x", "model_type": "vit", "crop_scale": [0.5, 1.0]})
    with pytest.raises(ConfigError, match="--hflip_prob is a probability"):
        parse_recipe_args(["--dataset", "x", "--model_type", "vit", "--hflip_prob", "2"])
