"""Fixtures of the publishing tests: the local Hub server, client subprocesses and tiny trained outputs."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import huggingface_hub
import numpy as np
import pytest
from PIL import Image

from tests.publishing.hub_server import HubServer

TOKEN = "hf_PublishTestToken0123456789abcdefXYZ"
OTHER_TOKEN = "hf_SomebodyElse0123456789abcdefghijklm"
USER = "testuser"
REPO_ROOT = Path(__file__).resolve().parents[2]
BEST_STEP = 4  # epoch 1 of 2 is the best checkpoint; epoch 2 (the last) is worse on purpose


@pytest.fixture(scope="session")
def hub() -> Iterator[HubServer]:
    server = HubServer({TOKEN: USER, OTHER_TOKEN: "mallory"}).start()
    yield server
    server.stop()


def go_online(hub: HubServer, monkeypatch: pytest.MonkeyPatch, token_path: Path) -> HubServer:
    """Point the in-process (offline, already imported) huggingface_hub at the local Hub."""
    constants = huggingface_hub.constants
    template = hub.endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
    monkeypatch.setattr(constants, "HF_URL_HOSTS", constants.HF_URL_HOSTS | {hub.host})
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(token_path))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    return hub


@pytest.fixture
def online(hub: HubServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> HubServer:
    """The local Hub for one in-process test (no token configured unless the test passes one)."""
    return go_online(hub, monkeypatch, tmp_path / "no-token-file")


def client_env(hub: HubServer, home: Path, token: str | None = TOKEN, **extra: str) -> dict[str, str]:
    """Environment of a client subprocess: the local Hub, a fresh HF_HOME, online, optional token."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "HUGGING"))}
    env.pop("TRANSFORMERS_OFFLINE", None)
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HF_ENDPOINT=hub.endpoint,
        HF_HOME=str(home),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DISABLE_UPDATE_CHECK="1",
        PYTHONPATH=str(REPO_ROOT),
    )
    if token is not None:
        env["HF_TOKEN"] = token
    env.update(extra)
    return env


def run_python(code: str, env: dict[str, str], timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT
    )


def run_cli(args: list[str], env: dict[str, str], timeout: int = 180) -> subprocess.CompletedProcess:
    code = "import sys; from hf_aidetect.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
    )


def folder_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file (and the set of paths) under ``folder``: proves a folder was left intact."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _tiny_model(kind: str):
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    from hf_aidetect.models import SeedCNNConfig, SeedCNNForImageClassification

    labels = {"id2label": {0: "real", 1: "fake"}, "label2id": {"real": 0, "fake": 1}}
    torch.manual_seed(0)
    if kind == "vit":
        config = ViTConfig(
            image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
            intermediate_size=37, **labels,
        )  # fmt: skip
        model = ViTForImageClassification(config)
    else:
        config = SeedCNNConfig(
            image_size=32, conv_channels=(4, 8), kernel_size=3, stride=1, padding=1, hidden_sizes=(16,),
            dropout=0.0, **labels,
        )  # fmt: skip
        model = SeedCNNForImageClassification(config)
    model.config.operating_point = dict(OPERATING_POINT)
    processor = ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    return model.eval(), processor


def _log_history() -> list[dict]:
    return [
        {"epoch": 0.5, "step": 2, "loss": 0.71, "learning_rate": 5e-5},
        {"epoch": 1.0, "step": 4, "loss": 0.65, "learning_rate": 4e-5},
        {"epoch": 1.0, "step": BEST_STEP, "eval_loss": 0.52, "eval_accuracy": 0.875, "eval_f1_fake": 0.86,
         "eval_precision_fake": 0.9, "eval_recall_fake": 0.83, "eval_roc_auc": 0.93, "eval_runtime": 0.1},
        {"epoch": 2.0, "step": 8, "loss": 0.6, "learning_rate": 1e-5},
        {"epoch": 2.0, "step": 8, "eval_loss": 0.61, "eval_accuracy": 0.75, "eval_f1_fake": 0.7,
         "eval_precision_fake": 0.8, "eval_recall_fake": 0.62, "eval_roc_auc": 0.81, "eval_runtime": 0.1},
    ]  # fmt: skip


# A tuned threshold of 0.4 folded into the classifier bias (logit(0.4) = -0.4055), as training leaves it.
OPERATING_POINT = {
    "rule": "fake iff P(fake) >= 0.5 (the top label)",
    "logit_shift": -0.4055,
    "threshold_on_unshifted_scores": 0.4,
    "parameters": ["classifier.bias"],
    "source": "tuned on the validation split",
    "tuning": {"method": "max_balanced_accuracy", "tuned_on": "the validation split", "num_real": 60,
               "num_fake": 60, "threshold": 0.4, "balanced_accuracy": 0.9, "fpr": 0.1, "tpr": 0.9},
}  # fmt: skip
# The evaluation report's figures at that operating point: what the model-index publishes.
REPORT_METRICS = {
    "accuracy": 0.875,
    "f1_fake": 0.875,
    "roc_auc": 0.9011,
    "confusion_matrix": [[7, 1], [1, 7]],
}
TEST_RESULTS = {
    "test_accuracy": 0.8125,
    "test_f1_fake": 0.8,
    "test_precision_fake": 0.85,
    "test_recall_fake": 0.7556,
    "test_roc_auc": 0.9011,
    "test_loss": 0.55,
    "test_confusion_matrix": [[7, 1], [2, 6]],
}


def write_training_outputs(output_dir: Path, kind: str, token: str = TOKEN) -> Path:
    """A training OUTPUT_DIR as the TRAINING layer leaves it (best weights, results, junk to keep local)."""
    model, processor = _tiny_model(kind)
    model.save_pretrained(output_dir)
    processor.save_pretrained(output_dir)
    state = {
        "log_history": _log_history(),
        "best_global_step": BEST_STEP,
        "best_metric": 0.86,
        "best_model_checkpoint": str(output_dir / f"checkpoint-{BEST_STEP}"),
        "global_step": 8,
        "epoch": 2.0,
    }
    counts = {
        "train": {"real": 10, "fake": 6},
        "validation": {"real": 4, "fake": 4},
        "test": {"real": 8, "fake": 8},
    }
    hyperparameters = {"learning_rate": 5e-5, "num_train_epochs": 2, "metric_for_best_model": "f1_fake"}
    files = {
        "trainer_state.json": state,
        "all_results.json": {**TEST_RESULTS, "validation_accuracy": 0.875, "train_loss": 0.64},
        "data_summary.json": {
            "counts": counts,
            "imbalance_ratio": 1.6667,
            "sources": {"train": {"": 10, "stylegan2": 6}},
            "layout": "split_folders",
        },
        "model_card_data.json": {"hyperparameters": hyperparameters},
    }
    for name, content in files.items():
        (output_dir / name).write_text(json.dumps(content), encoding="utf-8")
    (output_dir / "epoch_metrics.csv").write_text(
        "epoch,step,train_loss,eval_loss,eval_accuracy,eval_f1_fake,eval_roc_auc\n"
        f"1,{BEST_STEP},0.68,0.52,0.875,0.86,0.93\n2,8,0.6,0.61,0.75,0.7,0.81\n"
    )
    (output_dir / "evaluation").mkdir()
    Image.new("RGB", (8, 8), "white").save(output_dir / "evaluation" / "roc_curve.png")
    report = {
        "split": "test",
        "num_samples": 16,
        "num_real": 8,
        "num_fake": 8,
        "threshold": {
            "value": 0.5,
            "source": "tuned on the validation split, folded into the model",
            "folded": {"raw_threshold": 0.4, "logit_shift": -0.4055, "total_logit_shift": -0.4055},
        },
        "metrics": dict(REPORT_METRICS),
        "operating_points": {
            "num_real": 8,
            "num_fake": 8,
            "tpr_at_fpr": [
                {"fpr": 0.01, "tpr": 0.625, "ci": [0.25, 0.875], "resolvable": False},
                {"fpr": 0.05, "tpr": 0.75, "ci": [0.375, 1.0], "resolvable": False},
            ],
            "roc_auc": {"value": 0.9011, "ci": [0.75, 1.0]},
            "average_precision": {"value": 0.92, "ci": [0.8, 1.0]},
            "bootstrap": {"resamples": 1000, "seed": 0, "confidence": 0.95, "method": "stratified"},
        },
        "calibration": {"ece": 0.12, "brier": 0.1, "num_bins": 15, "num_samples": 16},
        "per_source": [
            {"source": "stylegan2", "num_real": 0, "num_fake": 8, "accuracy": 0.875},
        ],
    }
    report["per_source"][0].update(average_precision=0.95, ap_basis="vs all real")
    (output_dir / "evaluation" / "metrics.json").write_text(json.dumps(report))
    (output_dir / "evaluation" / "report.md").write_text("# Evaluation report\n")
    checkpoint = output_dir / f"checkpoint-{BEST_STEP}"
    checkpoint.mkdir()
    for junk in ("optimizer.pt", "scheduler.pt", "rng_state.pth", "model.safetensors"):
        (checkpoint / junk).write_bytes(b"junk")
    (output_dir / "optimizer.pt").write_bytes(b"optimizer state")
    (output_dir / "rng_state_0.pth").write_bytes(b"rng")
    # training_args.bin pickles TrainingArguments, hub_token included: it must never leave the machine.
    (output_dir / "training_args.bin").write_bytes(b"pickle...hub_token=" + token.encode())
    return output_dir


@pytest.fixture
def make_outputs(tmp_path: Path) -> Callable[[str], Path]:
    def make(kind: str, name: str | None = None) -> Path:
        return write_training_outputs(tmp_path / (name or f"{kind}-out"), kind)

    return make


@pytest.fixture
def face_images(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for index in range(3):
        path = tmp_path / f"face_{index}.png"
        Image.fromarray(rng.integers(0, 255, (40, 36, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths
