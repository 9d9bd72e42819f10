"""LoRA models saved merged and as an adapter: same predictions locally and after a push, threshold folded in.

The base backbone is a tiny DINOv2-with-registers twin pushed to the local Hub first, so the adapter form
references a Hub id exactly as a real run would. Two identical runs (same seed) differ only in
``--lora_save``; the validation split is large enough (50 + 50) for the run to tune a threshold and fold
it into the head's bias, which the adapter form must carry in its adapter file.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import HfApi, ModelCard
from PIL import Image

from hf_aidetect.cli import main
from hf_aidetect.errors import HubError
from hf_aidetect.models import ModelArguments, build_model
from hf_aidetect.publishing.push import check_output_dir, push_to_hub, select_files
from tests.publishing.conftest import TOKEN, USER, client_env, go_online, run_cli, run_python
from tests.training.conftest import FAST, write_tiny_dataset

BASE_REPO = f"{USER}/twin-dinov2-registers"
COUNTS = {
    "train": {"real": 16, "fake": 16},
    "valid": {"real": 50, "fake": 50},
    "test": {"real": 8, "fake": 8},
}
SCRIPT = """
import json, sys
if {block}:
    sys.modules["hf_aidetect"] = None  # a machine without hf_aidetect: the repo's own code must do
from transformers import pipeline
detector = pipeline("image-classification", model={repo!r}, trust_remote_code=True)
scores = [{{p["label"]: p["score"] for p in detector(x, top_k=2)}}["fake"] for x in {images!r}]
print("RESULT" + json.dumps(scores))
"""


@pytest.fixture(scope="module")
def runs(hub, twins: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One LoRA run per saved form, from the twin on the local Hub, each pushed by the recipe option."""
    from hf_aidetect.training import parse_dict_args, train

    root = tmp_path_factory.mktemp("lora_publish")
    data = write_tiny_dataset(root / "data", COUNTS, seed=4)
    outputs = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        go_online(hub, monkeypatch, root / "no-token-file")
        api = HfApi(token=TOKEN)
        api.create_repo(BASE_REPO, exist_ok=True)
        api.upload_folder(repo_id=BASE_REPO, folder_path=str(twins["dinov2_with_registers"]))
        for form in ("merged", "adapter"):
            values = {
                **FAST, "dataset": str(data), "output_dir": str(root / form), "model_name_or_path": BASE_REPO,
                "tuning": "lora", "lora_r": 4, "lora_save": form, "num_train_epochs": 2,
                "evaluation_report": True, "robustness_samples": 0, "write_model_card": True,
                "push_to_hub": True, "hub_model_id": f"{USER}/lora-{form}", "hub_token": TOKEN,
            }  # fmt: skip
            train(*parse_dict_args(values))
            outputs[form] = root / form
    return outputs


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("lora_images")
    rng = np.random.default_rng(5)
    paths = []
    for index, (width, height) in enumerate([(24, 20), (32, 32), (48, 40), (33, 70)]):
        path = folder / f"{index}.png"
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


def _predict(model_dir: Path, images: list[str], out: Path) -> np.ndarray:
    assert main(["predict", str(model_dir), *images, "--output", str(out), "--no-progress"]) == 0
    with out.open(newline="") as handle:
        return np.array([float(row["fake_score"]) for row in csv.DictReader(handle)])


def test_the_adapter_form_holds_the_adapter_and_head_only(runs: dict[str, Path]) -> None:
    merged, adapter = runs["merged"], runs["adapter"]
    assert (merged / "model.safetensors").is_file() and not (merged / "adapter").exists()
    assert not (adapter / "model.safetensors").exists()
    assert {p.name for p in (adapter / "adapter").iterdir()} == {
        "adapter_model.safetensors",
        "adapter_config.json",
    }
    config = json.loads((adapter / "config.json").read_text())
    assert config["adapter"] == {"subfolder": "adapter", "base_model": BASE_REPO, "revision": "main"}
    peft_config = json.loads((adapter / "adapter" / "adapter_config.json").read_text())
    assert peft_config["base_model_name_or_path"] == BASE_REPO and peft_config["modules_to_save"] == [
        "classifier"
    ]
    for run in (merged, adapter):  # the tuned threshold was folded into the head of both
        assert json.loads((run / "config.json").read_text())["operating_point"]["logit_shift"] != 0
    assert "LoRA adapter" in (adapter / "README.md").read_text()
    assert "merged weights" in (merged / "README.md").read_text()
    assert "adapter/adapter_config.json" in select_files(adapter)


def test_both_forms_predict_the_same_locally(runs, images, hub, monkeypatch, tmp_path: Path) -> None:
    go_online(hub, monkeypatch, tmp_path / "no-token-file")  # the adapter form fetches its base model
    merged = _predict(runs["merged"], images, tmp_path / "merged.csv")
    adapter = _predict(runs["adapter"], images, tmp_path / "adapter.csv")
    np.testing.assert_allclose(adapter, merged, atol=1e-6)
    assert np.ptp(merged) > 0


@pytest.mark.slow
@pytest.mark.parametrize("form", ["merged", "adapter"])
def test_pushed_forms_give_the_local_predictions(
    form, runs, images, hub, monkeypatch, tmp_path: Path
) -> None:
    stored = hub.store.get_repo(f"{USER}/lora-{form}").resolve("main").tree
    weights = "adapter/adapter_model.safetensors" if form == "adapter" else "model.safetensors"
    assert weights in stored and "modeling_backbone_detector.py" in stored
    assert not [path for path in stored if path.startswith("checkpoint-")]
    card = ModelCard(hub.store.file_content(stored["README.md"]).decode())
    assert f'model="{USER}/lora-{form}"' in card.text and card.data.base_model == BASE_REPO
    go_online(hub, monkeypatch, tmp_path / "no-token-file")
    local = _predict(runs["merged"], images, tmp_path / "local.csv")
    script = SCRIPT.format(block=form == "adapter", repo=f"{USER}/lora-{form}", images=images)
    done = run_python(script, client_env(hub, tmp_path / "fresh_home"))
    assert done.returncode == 0, done.stderr[-3000:]
    np.testing.assert_allclose(json.loads(done.stdout.split("RESULT", 1)[1]), local, atol=1e-5)


def _local_adapter(twin: Path, out: Path) -> Path:
    from hf_aidetect.models.lora import merge_lora, save_adapter_form

    model, processor = build_model(
        ModelArguments(model_name_or_path=str(twin), tuning="lora", lora_r=2, lora_save="adapter")
    )
    merged, snapshot = merge_lora(model)
    merged.save_pretrained(out)
    processor.save_pretrained(out)
    save_adapter_form(out, merged, snapshot)
    return out


def test_an_adapter_on_a_local_base_is_pushed_with_its_base(
    twins, images, hub, monkeypatch, tmp_path
) -> None:
    """Refused as it is (nobody could load a local base); --base-model uploads the base and points at it."""
    out = _local_adapter(twins["siglip"], tmp_path / "out")
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    go_online(hub, monkeypatch, tmp_path / "no-token-file")
    with pytest.raises(HubError, match="--base-model"):
        push_to_hub(out, f"{USER}/local-base", token=TOKEN)
    env = client_env(hub, tmp_path / "cli_home")
    done = run_cli(
        ["push", str(out), "--repo-id", f"{USER}/local-base", "--base-model", f"{USER}/siglip-base"], env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert before == {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}  # untouched
    stored = hub.store.get_repo(f"{USER}/local-base").resolve("main").tree
    config = json.loads(hub.store.file_content(stored["config.json"]))
    assert config["adapter"]["base_model"] == config["backbone_checkpoint"] == f"{USER}/siglip-base"
    adapter_config = json.loads(hub.store.file_content(stored["adapter/adapter_config.json"]))
    assert adapter_config["base_model_name_or_path"] == f"{USER}/siglip-base"
    card = ModelCard(hub.store.file_content(stored["README.md"]).decode())
    assert card.data.base_model == f"{USER}/siglip-base" and str(out.parent) not in card.text
    assert "model.safetensors" in hub.store.get_repo(f"{USER}/siglip-base").resolve("main").tree
    local = _predict(out, images, tmp_path / "local.csv")
    script = SCRIPT.format(block=True, repo=f"{USER}/local-base", images=images)
    done = run_python(script, client_env(hub, tmp_path / "fresh_home"))
    assert done.returncode == 0, done.stderr[-3000:]
    np.testing.assert_allclose(json.loads(done.stdout.split("RESULT", 1)[1]), local, atol=1e-5)


def test_a_gone_base_folder_needs_the_base_on_the_hub(twins, hub, monkeypatch, tmp_path: Path) -> None:
    import shutil

    base = shutil.copytree(twins["dinov3_vit"], tmp_path / "base")
    out = _local_adapter(base, tmp_path / "out")
    shutil.rmtree(base)
    go_online(hub, monkeypatch, tmp_path / "no-token-file")
    with pytest.raises(HubError, match=r"is gone and .* is not on the Hub"):
        push_to_hub(out, f"{USER}/gone-base", token=TOKEN, base_model=f"{USER}/never-pushed")
    assert not HfApi(token=TOKEN).repo_exists(f"{USER}/gone-base")  # nothing was uploaded


def test_base_model_is_refused_for_a_whole_model(twins, tmp_path: Path) -> None:
    out = tmp_path / "plain"
    model, _ = build_model(ModelArguments(model_name_or_path=str(twins["dinov2"]), tuning="linear_probe"))
    model.save_pretrained(out)
    check_output_dir(out)
    with pytest.raises(HubError, match="--base-model is for LoRA adapter saves"):
        check_output_dir(out, base_model=f"{USER}/some-base")


def test_an_adapter_that_does_not_fit_its_config_is_refused(twins, tmp_path: Path, capsys) -> None:
    from safetensors.torch import load_file, save_file

    from hf_aidetect.errors import ModelFileError
    from hf_aidetect.models.integrity import verify_model_folder

    out = _local_adapter(twins["dinov3_vit"], tmp_path / "out")
    verify_model_folder(out)  # the adapter as saved fits
    path = out / "adapter" / "adapter_model.safetensors"
    tensors = load_file(str(path))
    key = next(k for k in tensors if "lora_A" in k)
    tensors[key] = tensors[key][:, :-1].contiguous()  # one input column short: another model's adapter
    save_file(tensors, str(path))
    with pytest.raises(ModelFileError, match="does not fit"):
        verify_model_folder(out)
    image = tmp_path / "face.png"
    Image.new("RGB", (32, 32)).save(image)
    assert main(["predict", str(out), str(image)]) != 0
    assert "does not fit" in capsys.readouterr().err
