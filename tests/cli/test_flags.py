"""One flag convention: kebab-case everywhere, the other spelling and the old names accepted, the same
names for the same things, no prefix matching, no flag that does nothing; --version, -q anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hf_aidetect.cli import build_parser
from hf_aidetect.cli import main as cli_main
from hf_aidetect.errors import ConfigError
from hf_aidetect.training.config import parse_recipe_args

KEBAB = re.compile(r"^--[a-z0-9]+(-[a-z0-9]+)*$")


def _subparsers() -> dict:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return dict(action.choices)


def test_version_exits_zero(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == "hf-aidetect 0.1.0"


def test_every_declared_flag_is_kebab_case() -> None:
    for name, sub in _subparsers().items():
        flags = [s for action in sub._actions for s in action.option_strings if s.startswith("--")]
        assert [flag for flag in flags if not KEBAB.match(flag)] == [], name


@pytest.mark.parametrize(
    ("argv", "dest", "value"),
    [
        (["predict", "m", "x.jpg", "--batch_size", "8"], "batch_size", 8),
        (["predict", "m", "x.jpg", "--batch-size=8"], "batch_size", 8),
        (["predict", "m", "x.jpg", "--num_workers", "2"], "num_workers", 2),
        (["evaluate", "m", "d", "--output_dir", "r"], "output_dir", "r"),
        (["evaluate", "m", "d", "--out", "r"], "output_dir", "r"),  # the old name, hidden
        (["evaluate", "m", "d", "--split_seed", "3"], "seed", 3),  # train's name for it
        (["explain", "m", "x.jpg", "--output-dir", "r"], "output_dir", "r"),
        (["audit", "d", "--out", "r"], "output_dir", "r"),
        (["sweep", "cnn_grid", "--output-root", "r"], "output_dir", "r"),
        (["sweep", "cnn_grid", "--output_dir", "r"], "output_dir", "r"),
        (["demo-data", "--output-dir", "r"], "output_dir", "r"),
        (["predict", "m", "x.jpg", "-q"], "quiet", True),  # -q after the command
        (["-q", "predict", "m", "x.jpg"], "quiet", True),  # and before it
        (["predict", "m", "x.jpg"], "quiet", False),
    ],
)
def test_either_spelling_and_old_names(argv: list[str], dest: str, value: object) -> None:
    args, extra = build_parser().parse_known_args(argv)
    assert extra == [] and getattr(args, dest) == value


def test_same_names_mean_the_same_everywhere() -> None:
    subs = _subparsers()
    for flag, dest in (("--batch-size", "batch_size"), ("--threshold", "threshold"), ("--device", "device")):
        for name in ("predict", "evaluate"):
            action = subs[name]._option_string_actions[flag]
            assert action.dest == dest, (name, flag)
    for name in ("evaluate", "explain", "audit", "sweep", "cross-generator", "demo-data"):
        assert subs[name]._option_string_actions["--output-dir"].dest == "output_dir", name


def test_no_prefix_matching(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["predict", "m", "x.jpg", "--batch", "8"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --batch" in capsys.readouterr().err


def test_a_flag_given_twice_is_an_error(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["evaluate", "m", "d", "--out", "a", "--output_dir", "b"])
    assert exit_info.value.code == 2
    assert "--output_dir given twice (also as --out): give it once" in capsys.readouterr().err


def test_train_takes_the_other_commands_names(tmp_path: Path) -> None:
    argv = ["--model_type", "seed_cnn", "--output-dir", str(tmp_path), "--batch-size", "8"]
    argv += ["--eval-batch-size", "4", "--num-workers", "0", "--device", "cpu", "--learning-rate=0.1"]
    _, training, _ = parse_recipe_args(argv)
    assert training.output_dir == str(tmp_path) and training.learning_rate == 0.1
    assert (training.per_device_train_batch_size, training.per_device_eval_batch_size) == (8, 4)
    assert training.dataloader_num_workers == 0 and training.use_cpu is True


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--do_train"], "--do_train has no effect here: hf-aidetect train always trains"),
        (["--do-eval", "true"], "--do_eval has no effect here"),
        (["--neftune_noise_alpha", "5"], "token embeddings"),
        (["--threshold", "0.3"], "training tunes the threshold"),
        (["--device", "cuda:1"], "CUDA_VISIBLE_DEVICES=1"),
        (["--device", "tpu"], "use auto, cpu, cuda or mps"),
    ],
)
def test_flags_with_no_effect_are_rejected(tmp_path: Path, extra: list[str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_recipe_args(["--model_type", "seed_cnn", "--output_dir", str(tmp_path), *extra])


def test_a_recipe_key_with_no_effect_names_the_file(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model_type: seed_cnn\ndo_eval: true\n")
    with pytest.raises(ConfigError, match=r"'do_eval' in .*r\.yaml has no effect here"):
        parse_recipe_args(["--config", str(recipe), "--output_dir", str(tmp_path)])


def test_rejected_flag_on_the_command_line_is_one_line(tmp_path: Path, capsys) -> None:
    assert cli_main(["train", "--model_type", "seed_cnn", "--output_dir", str(tmp_path), "--do_train"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("hf-aidetect train: error: --do_train has no effect")


def test_list_flags_is_grouped_and_hides_what_makes_no_sense(capsys) -> None:
    assert cli_main(["train", "--list-flags"]) == 0
    text = capsys.readouterr().out
    for title in ("optimisation", "evaluation, best checkpoint and early stopping", "data loader", "Hub"):
        assert f"\n  {title}\n" in text, title
    for hidden in ("neftune_noise_alpha", "use_liger_kernel", "--do_train ", "gradient_checkpointing "):
        assert hidden not in text, hidden
    assert "--early_stopping_patience" in text and "--license" in text and "--card_widget" in text
    assert len(text.splitlines()) < 400
    assert cli_main(["train", "--list-flags", "--all"]) == 0
    everything = capsys.readouterr().out
    assert "--gradient_checkpointing " in everything and "Rejected (no effect here): " in everything


def test_list_flags_shows_a_recipes_values(capsys) -> None:
    assert cli_main(["train", "--config", "cnn_seed", "--list-flags"]) == 0
    text = capsys.readouterr().out
    line = next(line for line in text.splitlines() if "--optim " in line)
    assert "--optim sgd" in line


def test_quiet_after_the_command_silences_every_bar(tmp_path: Path) -> None:
    """In a fresh process (the libraries read their bar settings at import): -q after the command hides
    the weight-loading bar and predict's own; without it both show."""
    import os
    import subprocess
    import sys

    from tests.inference.conftest import save_tiny_cnn
    from tests.utils import write_rgb_jpeg

    model = save_tiny_cnn(tmp_path / "model")
    image = write_rgb_jpeg(tmp_path / "face.jpg", size=40)
    command = [sys.executable, "-m", "hf_aidetect.cli", "predict", str(model), str(image)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
    loud = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    assert "Loading weights" in loud.stderr and "predict:" in loud.stderr
    quiet = subprocess.run([*command, "-q"], capture_output=True, text=True, env=env, check=True)
    assert quiet.stderr == "" and quiet.stdout.splitlines()[1].startswith(str(image))


def test_only_our_logger_speaks_at_info(monkeypatch) -> None:
    """Other libraries' INFO records (matplotlib's font manager, httpx under Gradio) stay out of the log;
    their warnings and ours at INFO come through."""
    import logging

    from hf_aidetect._logging import configure_logging

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    monkeypatch.setattr(logging.getLogger("hf_aidetect"), "level", logging.NOTSET)
    configure_logging(logging.INFO)
    assert not logging.getLogger("matplotlib.font_manager").isEnabledFor(logging.INFO)
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)
    assert logging.getLogger("hf_aidetect.training.runner").isEnabledFor(logging.INFO)
