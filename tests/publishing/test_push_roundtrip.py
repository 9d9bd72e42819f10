"""Push with ``hf-aidetect push`` to the local Hub server, then load by repo id in a fresh environment."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from transformers import pipeline

from hf_aidetect.publishing.push import push_to_hub
from tests.publishing.conftest import (
    REPORT_METRICS,
    TOKEN,
    USER,
    client_env,
    folder_digest,
    run_cli,
    run_python,
)

EXPECTED = {
    "config.json",
    "model.safetensors",
    "preprocessor_config.json",
    "README.md",
    "all_results.json",
    "trainer_state.json",
    "epoch_metrics.csv",
    "data_summary.json",
    "model_card_data.json",
    "evaluation/roc_curve.png",
    "evaluation/metrics.json",
    "evaluation/report.md",
}
LOAD_SCRIPT = """
import json, sys
if {block}:
    sys.modules["hf_aidetect"] = None  # a machine without hf_aidetect: the repo's own code must do
from transformers import AutoModelForImageClassification, pipeline
kwargs = {{"trust_remote_code": True}} if {remote} else {{}}
detector = pipeline("image-classification", model={repo!r}, revision={revision!r}, **kwargs)
model = AutoModelForImageClassification.from_pretrained({repo!r}, revision={revision!r}, **kwargs)
preds = [detector(path, top_k=2) for path in {images!r}]
card_metrics = None
if {revision!r} == "main":  # ModelCard.load reads the default branch
    from huggingface_hub import ModelCard
    card = ModelCard.load({repo!r})
    results = card.data.eval_results
    card_metrics = {{r.metric_type: r.metric_value for r in results if r.dataset_split == "test"}}
print("RESULT" + json.dumps({{"preds": preds, "module": type(model).__module__, "card": card_metrics,
                              "threshold": getattr(model.config, "operating_point", None)}}))
"""


def _local_predictions(output_dir: Path, images: list[str]) -> list:
    detector = pipeline("image-classification", model=str(output_dir), device="cpu")
    return [detector(path, top_k=2) for path in images]


def _load_remote(hub, tmp_path: Path, repo_id: str, images: list[str], remote: bool, revision: str = "main"):
    script = LOAD_SCRIPT.format(block=remote, remote=remote, repo=repo_id, revision=revision, images=images)
    done = run_python(script, client_env(hub, tmp_path / "fresh_hf_home"))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.split("RESULT", 1)[1])


def _assert_same(local: list, remote: list) -> None:
    for local_preds, remote_preds in zip(local, remote, strict=True):
        assert [p["label"] for p in local_preds] == [p["label"] for p in remote_preds]
        assert [p["score"] for p in local_preds] == pytest.approx(
            [p["score"] for p in remote_preds], abs=1e-6
        )


def _stored(hub, repo_id: str, revision: str = "main") -> dict[str, bytes]:
    store = hub.store
    commit = store.get_repo(repo_id).resolve(revision)
    return {path: store.file_content(entry) for path, entry in commit.tree.items()}


def _assert_published(hub, repo_id: str, output_dir: Path, extra: set[str], revision: str = "main") -> None:
    files = _stored(hub, repo_id, revision)
    assert set(files) == EXPECTED | extra | {".gitattributes"}
    assert not [path for path, content in files.items() if TOKEN.encode() in content]
    card = ModelCard(files["README.md"].decode())
    test_metrics = {
        r.metric_type: r.metric_value for r in card.data.eval_results if r.dataset_split == "test"
    }
    assert test_metrics["accuracy"] == REPORT_METRICS["accuracy"]
    assert test_metrics["roc_auc"] == REPORT_METRICS["roc_auc"]
    assert f'model="{repo_id}"' in card.text
    assert files["model.safetensors"] == (output_dir / "model.safetensors").read_bytes()


def test_vit_push_and_load_by_repo_id(hub, make_outputs, face_images, tmp_path: Path, online) -> None:
    output_dir = make_outputs("vit")
    before = folder_digest(output_dir)
    repo_id = f"{USER}/tiny-vit"
    pushed = run_cli(["push", str(output_dir), "--repo-id", repo_id], client_env(hub, tmp_path / "push_home"))
    assert pushed.returncode == 0, pushed.stderr[-3000:]
    assert TOKEN not in pushed.stdout + pushed.stderr
    assert f"{hub.endpoint}/{repo_id}" in pushed.stdout
    assert folder_digest(output_dir) == before
    _assert_published(hub, repo_id, output_dir, extra=set())

    remote = _load_remote(hub, tmp_path, repo_id, face_images, remote=False)
    _assert_same(_local_predictions(output_dir, face_images), remote["preds"])
    assert remote["threshold"]["threshold_on_unshifted_scores"] == 0.4
    assert remote["module"].startswith("transformers.models.vit")
    assert remote["card"]["accuracy"] == REPORT_METRICS["accuracy"]
    assert remote["card"]["f1"] == REPORT_METRICS["f1_fake"]

    # Re-running the same push is harmless: nothing changed, so no new commit.
    head = hub.store.get_repo(repo_id).branches["main"]
    again = push_to_hub(output_dir, repo_id, token=TOKEN)
    assert again.commit_oid == head == hub.store.get_repo(repo_id).branches["main"]


def test_cnn_private_branch_push_and_load_without_hf_aidetect(
    hub, make_outputs, face_images, tmp_path: Path
) -> None:
    output_dir = make_outputs("seed_cnn")
    repo_id = f"{USER}/tiny-seed-cnn"
    args = ["push", str(output_dir), "--repo-id", repo_id, "--private", "--revision", "exp-1"]
    # The token comes from where `hf auth login` saves it (HF_HOME/token), not from HF_TOKEN.
    env = client_env(hub, tmp_path / "push_home", token=None)
    (tmp_path / "push_home" / "token").write_text(TOKEN)
    pushed = run_cli([*args, "--commit-message", "CNN run 1"], env)
    assert pushed.returncode == 0, pushed.stderr[-3000:]
    assert TOKEN not in pushed.stdout + pushed.stderr
    repo = hub.store.get_repo(repo_id)
    assert repo.private and set(repo.branches) == {"main", "exp-1"}
    assert repo.resolve("exp-1").title == "CNN run 1"
    code_files = {"configuration_seed_cnn.py", "modeling_seed_cnn.py"}
    _assert_published(hub, repo_id, output_dir, extra=code_files, revision="exp-1")
    assert "config.json" not in _stored(hub, repo_id, "main")  # main untouched

    remote = _load_remote(hub, tmp_path, repo_id, face_images, remote=True, revision="exp-1")
    _assert_same(_local_predictions(output_dir, face_images), remote["preds"])
    assert remote["module"].startswith("transformers_modules")  # the repo's code, not hf_aidetect

    # Private: invisible without the owner's token (the Hub answers 401 RepoNotFound).
    url = f"{hub.endpoint}/{repo_id}/resolve/exp-1/config.json"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url)
    assert refused.value.code == 401 and refused.value.headers["X-Error-Code"] == "RepoNotFound"
