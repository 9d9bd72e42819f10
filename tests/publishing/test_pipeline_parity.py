"""``pipeline("image-classification")`` on a trained model (saved, and pushed) gives ``predict``'s P(fake).

The models are trained through ``hf_aidetect.training.train`` with the default native-resolution geometry,
so the saved processor must reproduce the evaluation window (centre crop, zero padding) exactly: images
smaller than, equal to and larger than the 32 px input, square and not.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from transformers import pipeline

from hf_aidetect.cli import main
from hf_aidetect.publishing.push import push_to_hub
from tests.publishing.conftest import TOKEN, USER, client_env, run_python
from tests.training.conftest import TINY_CNN, TINY_VIT, recipe_args, write_tiny_dataset

SHAPES = [(20, 24), (17, 17), (32, 32), (48, 40), (70, 33), (31, 45)]  # (width, height)
COUNTS = {split: {"real": 8, "fake": 8} for split in ("train", "valid", "test")}
PIPELINE_SCRIPT = """
import json, sys
if {block}:
    sys.modules["hf_aidetect"] = None  # a machine without hf_aidetect
from transformers import pipeline
kwargs = {{"trust_remote_code": True}} if {block} else {{}}
detector = pipeline("image-classification", model={repo!r}, **kwargs)
scores = [{{p["label"]: p["score"] for p in detector(path, top_k=2)}}["fake"] for path in {images!r}]
print("RESULT" + json.dumps(scores))
"""


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("parity_images")
    rng = np.random.default_rng(3)
    paths = []
    for i, (width, height) in enumerate(SHAPES):
        path = folder / f"{i}_{width}x{height}.{'png' if i % 2 else 'jpg'}"
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


@pytest.fixture(scope="module", params=["vit", "cnn"])
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    from hf_aidetect.training import train

    root = tmp_path_factory.mktemp(f"parity_{request.param}")
    data = write_tiny_dataset(root / "data", COUNTS)
    model = TINY_VIT if request.param == "vit" else TINY_CNN
    train(*recipe_args(data, root / "out", model, num_train_epochs=1, augment=True))
    return request.param, root / "out"


def _pipeline_scores(model_dir: str, images: list[str]) -> np.ndarray:
    detector = pipeline("image-classification", model=model_dir, device="cpu")
    return np.array([{p["label"]: p["score"] for p in detector(path, top_k=2)}["fake"] for path in images])


def _predict_scores(model_dir: str, images: list[str], tmp_path: Path, *extra: str) -> np.ndarray:
    out = tmp_path / f"predictions{len(extra)}.csv"
    assert main(["predict", model_dir, *images, "--output", str(out), "--no-progress", *extra]) == 0
    with out.open(newline="") as handle:
        return np.array([float(row["fake_score"]) for row in csv.DictReader(handle)])


def test_saved_model_pipeline_equals_predict(trained, images, tmp_path: Path) -> None:
    _, out = trained
    processor = json.loads((out / "preprocessor_config.json").read_text())
    assert processor["do_resize"] is False and processor["do_center_crop"] is True
    ours, theirs = _predict_scores(str(out), images, tmp_path), _pipeline_scores(str(out), images)
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.ptp(ours) > 0  # the images really differ to the model


def test_multi_crop_predict_averages_windows(trained, images, tmp_path: Path) -> None:
    _, out = trained
    single = _predict_scores(str(out), images, tmp_path)
    four = _predict_scores(str(out), images, tmp_path, "--crops", "4")
    small = [i for i, (w, h) in enumerate(SHAPES) if w <= 32 and h <= 32]
    np.testing.assert_allclose(four[small], single[small], atol=1e-6)  # one window fits: all four equal it
    assert not np.allclose(four, single, atol=1e-6)  # larger images: the grid sees more than the centre


def test_pushed_model_pipeline_equals_predict(trained, images, hub, tmp_path: Path, monkeypatch) -> None:
    from tests.publishing.conftest import go_online

    kind, out = trained
    go_online(hub, monkeypatch, tmp_path / "token")
    repo_id = f"{USER}/parity-{kind}"
    push_to_hub(out, repo_id, token=TOKEN)
    script = PIPELINE_SCRIPT.format(block=kind == "cnn", repo=repo_id, images=images)
    done = run_python(script, client_env(hub, tmp_path / "fresh_home"))
    assert done.returncode == 0, done.stderr[-3000:]
    remote = np.array(json.loads(done.stdout.split("RESULT", 1)[1]))
    assert np.abs(_predict_scores(str(out), images, tmp_path) - remote).max() < 1e-5
