"""``push --space``: a model with its ONNX export and a Gradio Space that runs it, on the local Hub server.

Checked: the Space repo holds app.py, requirements.txt, a README whose front matter parses with
huggingface_hub (``metadata_load``, ``SpaceCard``) as a gradio Space naming the model repo, and the
package source; the model repo holds ``onnx/`` and a card whose Deploy section links the Space; a fresh
process runs the Space's own app.py against the Hub (the vendored package, not the installed one) and
gets ``predict``'s rows; ``predict --backend onnx`` by repo id gets them too.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import SpaceCard, SpaceCardData, hf_hub_download, metadata_load, snapshot_download

from hf_aidetect.cli import main
from hf_aidetect.deploy.onnx_export import export_onnx
from hf_aidetect.publishing.space import check_space_id, requirements
from tests.publishing.conftest import USER, client_env, run_cli

SPACE_RUN = """
import json, runpy
space = runpy.run_path("app.py", run_name="space_check")  # builds the app and the page, does not serve
import hf_aidetect
verdicts = space["app"].check_images({images!r}, explain=True)
print("RESULT" + json.dumps({{"package": hf_aidetect.__file__, "model": space["MODEL"],
    "rows": [[v.name, v.row.label, v.row.fake_score, v.row.error, v.overlay is not None] for v in verdicts],
    "page": type(space["demo"]).__name__}}))
"""


def _csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as stream:
        return {Path(row["path"]).name: row for row in csv.DictReader(stream)}


@pytest.fixture
def exported_cnn(make_outputs) -> Path:
    output_dir = make_outputs("seed_cnn")
    export_onnx(output_dir)
    return output_dir


def test_push_model_onnx_and_space(hub, exported_cnn: Path, face_images, tmp_path: Path, online) -> None:
    repo_id, space_id = f"{USER}/tiny-cnn-deploy", f"{USER}/tiny-cnn-demo"
    env = client_env(hub, tmp_path / "push_home", HF_HUB_DISABLE_XET="1")
    pushed = run_cli(["push", str(exported_cnn), "--repo-id", repo_id, "--space", space_id], env)
    assert pushed.returncode == 0, pushed.stderr[-3000:]
    assert f"Space: {hub.endpoint}/spaces/{space_id}" in pushed.stdout

    model_files = set(hub.store.get_repo(repo_id).resolve("main").tree)
    assert {
        "onnx/model.onnx",
        "onnx/config.json",
        "onnx/preprocessor_config.json",
        "onnx/export_report.json",
    } <= model_files
    card = hub.store.file_content(hub.store.get_repo(repo_id).resolve("main").tree["README.md"]).decode()
    assert "## Deploy" in card and f"https://huggingface.co/spaces/{space_id}" in card
    assert "`onnx/model.onnx`" in card and "import onnxruntime as ort" in card

    space_dir = Path(snapshot_download(space_id, repo_type="space", local_dir=tmp_path / "space"))
    files = {path.relative_to(space_dir).as_posix() for path in space_dir.rglob("*") if path.is_file()}
    vendored = {
        "hf_aidetect/__init__.py",
        "hf_aidetect/deploy/app/service.py",
        "hf_aidetect/models/seed_cnn/modeling_seed_cnn.py",
    }
    assert {"app.py", "requirements.txt", "README.md", *vendored} <= files
    readme = hf_hub_download(space_id, "README.md", repo_type="space", cache_dir=tmp_path / "readme")
    metadata = metadata_load(readme)
    assert (metadata["sdk"], metadata["models"], metadata["app_file"]) == ("gradio", [repo_id], "app.py")
    assert metadata["sdk_version"]  # the gradio the app was tested with
    space_card = SpaceCard.load(readme)
    assert isinstance(space_card.data, SpaceCardData) and space_card.data.sdk == "gradio"
    assert f"[{repo_id}](https://huggingface.co/{repo_id})" in space_card.text
    required = (space_dir / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("torch") for line in required) and any(
        line.startswith("transformers") for line in required
    )
    assert not any(line.startswith(("gradio", "pytest", "ruff")) for line in required)

    # The Space's own app.py, in a fresh process, against the Hub: the vendored package scores as predict.
    predicted = tmp_path / "predict.csv"
    assert main(["-q", "predict", str(exported_cnn), *face_images, "--output", str(predicted)]) == 0
    expected = _csv(predicted)
    space_env = {**client_env(hub, tmp_path / "space_home"), "PYTHONPATH": ""}
    run = subprocess.run(
        [sys.executable, "-c", SPACE_RUN.format(images=face_images)],
        env=space_env,
        cwd=space_dir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.split("RESULT", 1)[1])
    assert Path(result["package"]).resolve().is_relative_to(space_dir.resolve())
    assert result["model"] == repo_id and result["page"] == "Blocks"
    for name, label, score, error, has_heatmap in result["rows"]:
        assert (label, f"{score:.6f}", error) == (expected[name]["label"], expected[name]["fake_score"], "")
        assert has_heatmap

    # predict --backend onnx by repo id: the onnx/ folder is downloaded and gives the same rows.
    onnx_csv = tmp_path / "onnx.csv"
    done = run_cli(
        ["-q", "predict", repo_id, *face_images, "--backend", "onnx", "--output", str(onnx_csv)],
        client_env(hub, tmp_path / "onnx_home"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for name, row in _csv(onnx_csv).items():
        assert row["label"] == expected[name]["label"]
        assert float(row["fake_score"]) == pytest.approx(float(expected[name]["fake_score"]), abs=1e-4)

    # Re-pushing the Space replaces its files and removes vendored files that no longer exist.
    from hf_aidetect.publishing.space import push_space
    from tests.publishing.conftest import TOKEN

    repo = hub.store.get_repo(f"spaces/{space_id}")
    stale = dict(repo.resolve("main").tree)
    stale["hf_aidetect/removed_module.py"] = stale["app.py"]
    head = repo.commits[repo.branches["main"]]
    head.tree = stale
    push_space(space_id, repo_id, token=TOKEN, endpoint=hub.endpoint)
    assert "hf_aidetect/removed_module.py" not in repo.resolve("main").tree


def test_space_dry_run_and_bad_space_id(exported_cnn: Path, capsys) -> None:
    assert main(["push", str(exported_cnn), "--repo-id", "me/m", "--space", "me/m-demo", "--dry-run"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert "onnx/model.onnx" in listed and "space me/m-demo: app.py" in listed
    assert main(["push", str(exported_cnn), "--space", "not a space id", "--dry-run"]) == 2
    assert "--space 'not a space id' is not a Space id" in capsys.readouterr().err
    with pytest.raises(Exception, match="USER/NAME"):
        check_space_id("justaname")
    assert "gradio" not in requirements()
    assert any(line.startswith("peft") for line in requirements().splitlines())  # adapter-form models
