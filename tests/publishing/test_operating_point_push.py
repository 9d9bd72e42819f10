"""A tuned threshold folded into a model, pushed, and loaded by repo id where hf_aidetect is not installed:
pipeline()'s top label, ``hf-aidetect predict`` and the pushed card's model-index agree image by image."""

from __future__ import annotations

import json
from pathlib import Path

from hf_aidetect.cli import main
from hf_aidetect.data import load_detection_dataset
from hf_aidetect.inference.evaluation import evaluate_model
from hf_aidetect.inference.loading import load_detector
from hf_aidetect.publishing.push import push_to_hub
from tests.inference.conftest import save_tiny_cnn
from tests.publishing.conftest import TOKEN, USER, client_env, run_python
from tests.utils import make_class_folder

CLIENT = """
import json, sys
sys.modules["hf_aidetect"] = None  # a machine without hf_aidetect: the repo's own code must do
from huggingface_hub import ModelCard
from transformers import pipeline
detector = pipeline("image-classification", model={repo!r}, trust_remote_code=True)
labels = [detector(path)[0]["label"] for path in {images!r}]
card = ModelCard.load({repo!r})
index = {{r.metric_type: r.metric_value for r in card.data.eval_results if r.dataset_split == "test"}}
print("RESULT" + json.dumps({{"labels": labels, "index": index, "text": card.text}}))
"""


def test_pushed_model_has_one_decision_rule(hub, online, tmp_path: Path, capsys) -> None:
    model_dir = save_tiny_cnn(tmp_path / "cnn", seed=3)
    test = make_class_folder(tmp_path / "test", {"real": 10, "fake": 10}, seed=11)
    tune = make_class_folder(tmp_path / "tune", {"real": 50, "fake": 50}, seed=21)
    detector = load_detector(model_dir)
    evaluate_model(  # the model's own report, as a training run writes it
        detector.model, detector.image_processor, load_detection_dataset(test, purpose="evaluation"),
        model_dir / "evaluation", robustness=False, gallery=False, bootstrap_resamples=20,
    )  # fmt: skip
    fold = ["-q", "evaluate", str(model_dir), str(test), "--out", str(tmp_path / "r"), "--no-gallery"]
    assert main([*fold, "--no-robustness", "--tune-on", str(tune), "--save-threshold"]) == 0
    images = [str(path) for path in sorted(test.rglob("*.jpg"))]
    truth = ["fake" if "/fake/" in path else "real" for path in images]
    capsys.readouterr()
    assert main(["-q", "predict", str(model_dir), *images, "--format", "jsonl"]) == 0
    local = [json.loads(line)["label"] for line in capsys.readouterr().out.splitlines()]

    repo_id = f"{USER}/folded-cnn"
    push_to_hub(model_dir, repo_id, token=TOKEN)
    done = run_python(CLIENT.format(repo=repo_id, images=images), client_env(hub, tmp_path / "client_home"))
    assert done.returncode == 0, done.stderr[-3000:]
    remote = json.loads(done.stdout.split("RESULT", 1)[1])
    assert remote["labels"] == local and set(local) == {"real", "fake"}
    accuracy = sum(a == b for a, b in zip(remote["labels"], truth)) / len(truth)
    assert remote["index"]["accuracy"] == round(accuracy, 4)
    assert "`P(fake) >= 0.5`, i.e. when `fake` is the top label" in remote["text"]
    assert "P(fake) = 0.5 is that threshold" in remote["text"]
