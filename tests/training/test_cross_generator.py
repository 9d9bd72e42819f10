"""``hf-aidetect cross-generator``: one leg per held-out generator, the table, and resuming."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from hf_aidetect.cli import main
from hf_aidetect.data import load_detection_dataset
from hf_aidetect.errors import ConfigError
from hf_aidetect.training import cross_generator, sweep
from tests.training.conftest import FAST, TINY_CNN

GENERATORS = ("gan_a", "gan_b", "diffusion_c")


def _write(root: Path) -> Path:
    """Reals (smooth gradients) and three 'generators' (gradients + a checkerboard of their own period)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:32, 0:32] / 32
    for split, n in (("train", 6), ("valid", 3), ("test", 3)):
        for label, sources in (("real", [""] * 3), ("fake", list(GENERATORS))):
            for number, source in enumerate(sources):
                folder = root / split / label / source
                folder.mkdir(parents=True, exist_ok=True)
                for index in range(n):
                    image = np.stack([x, y, (x + y) / 2], axis=-1) * rng.uniform(80, 200, 3)
                    if label == "fake":
                        period = 2 + GENERATORS.index(source)
                        image += 40.0 * (((np.indices((32, 32)).sum(axis=0) // period) % 2)[..., None] - 0.5)
                    name = f"{number}_{index}.png"
                    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(folder / name)
    return root


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    settings = {**TINY_CNN, **FAST, "num_train_epochs": 1, "write_model_card": False}
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def test_legs_hold_out_one_generator_each(tmp_path: Path) -> None:
    data = load_detection_dataset(_write(tmp_path / "data"))
    assert cross_generator.fake_sources(data) == sorted(GENERATORS)
    splits = cross_generator.leg_splits(data, "gan_b")
    for name in ("train", "validation"):
        sources = set(np.asarray(splits[name]["source"])[np.asarray(splits[name]["label"]) == 1])
        assert sources == {"gan_a", "diffusion_c"}
        assert (np.asarray(splits[name]["label"]) == 0).sum() == (np.asarray(data[name]["label"]) == 0).sum()
    test_labels, test_sources = np.asarray(splits["test"]["label"]), np.asarray(splits["test"]["source"])
    assert set(test_sources[test_labels == 1]) == {"gan_b"}
    assert (test_labels == 1).sum() == 6 + 3 + 3  # every fake of the held-out generator, from all splits
    assert (test_labels == 0).sum() == 9  # the real test images only


def test_sources_are_required(tmp_path: Path) -> None:
    from tests.training.conftest import write_tiny_dataset

    plain = write_tiny_dataset(tmp_path / "plain", {"train": {"real": 4, "fake": 4}})
    with pytest.raises(ConfigError, match="have no source"):
        cross_generator.fake_sources(load_detection_dataset(plain, validation_size=2, test_size=2))


def test_command_trains_scores_tabulates_and_resumes(
    tmp_path: Path, recipe: Path, monkeypatch, capsys
) -> None:
    data, out = _write(tmp_path / "data"), tmp_path / "xgen"
    argv = ["cross-generator", "--config", str(recipe), "--dataset", str(data), "--output-dir", str(out)]
    assert main([*argv, "--launcher", "in-process", "--learning_rate", "0.005"]) == 0
    table = json.loads((out / "cross_generator.json").read_text())
    assert [row["held_out"] for row in table] == [*sorted(GENERATORS), "mean of 3"]
    for row in table[:-1]:
        assert row["status"] == "done" and (row["num_fake"], row["num_real"]) == (12, 9)
        report = json.loads((out / row["held_out"] / "evaluation" / "metrics.json").read_text())
        assert report["num_fake"] == 12 and {r["source"] for r in report["per_source"]} == {
            "(none)",
            row["held_out"],
        }
        assert row["accuracy"] == report["metrics"]["accuracy"]
        assert 0.0 <= row["tpr_at_1pct_fpr"] <= 1.0
        saved = json.loads((out / row["held_out"] / "data_summary.json").read_text())
        assert row["held_out"] not in saved["sources"]["train"]  # never trained on
    assert table[-1]["accuracy"] == pytest.approx(np.mean([row["accuracy"] for row in table[:-1]]))
    markdown = (out / "cross_generator.md").read_text()
    assert "| gan_b | 12 | 9 |" in markdown and "| mean of 3 |" in markdown
    assert "| gan_b | 12 | 9 |" in capsys.readouterr().out

    # Re-running skips finished legs; a leg whose run was lost is trained again, and only it.
    (out / "gan_a" / "all_results.json").unlink()
    trained: list[str] = []
    monkeypatch.setattr(
        sweep, "SubprocessRunner", lambda *a, **k: lambda argv, point: trained.append(point.name)
    )
    assert main([*argv, "--launcher", "subprocess"]) == 0
    assert trained == ["gan_a"]
    assert main([*argv, "--dry-run"]) == 0
    assert "gan_a [todo]" in capsys.readouterr().out


def test_flags_owned_by_the_protocol_are_refused(tmp_path: Path, recipe: Path, capsys) -> None:
    data = _write(tmp_path / "data")
    argv = [
        "cross-generator",
        "--config",
        str(recipe),
        "--dataset",
        str(data),
        "--output-dir",
        str(tmp_path / "x"),
    ]
    with pytest.raises(SystemExit) as exit_info:  # either spelling is the protocol's own --output-dir
        main([*argv, "--output_dir", "elsewhere"])
    assert exit_info.value.code == 2 and not Path("elsewhere").exists()
    assert "--output_dir given twice (also as --output-dir): give it once" in capsys.readouterr().err
