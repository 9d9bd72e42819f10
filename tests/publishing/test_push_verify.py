"""``push`` proves the folder loads before anything is uploaded (issue 11, defect 6), and its advice after a
failed upload never repeats what is already in effect (defect 8)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import huggingface_hub
import pytest
from safetensors.torch import load_file, save_file

from hf_aidetect.cli import main as cli_main
from hf_aidetect.errors import HubError
from hf_aidetect.publishing.hub_errors import hub_error
from hf_aidetect.publishing.push import push_to_hub
from tests.faults.conftest import assert_one_line_error, assert_unchanged, snapshot
from tests.publishing.conftest import TOKEN, USER


def _break_config(folder: Path) -> None:
    (folder / "config.json").write_text('{"model_type": "seed_cnn", "image_size": ')


def _mismatch_config(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    config["hidden_sizes"] = [config["hidden_sizes"][0] + 1]
    (folder / "config.json").write_text(json.dumps(config))


def _cut_weights(folder: Path) -> None:
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])


def _drop_a_tensor(folder: Path) -> None:
    tensors = load_file(str(folder / "model.safetensors"))
    tensors.pop(sorted(tensors)[0])
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})


BREAKS = {
    "config-does-not-parse": (_break_config, r"config\.json is corrupt or incomplete \(not valid JSON"),
    "config-does-not-fit": (_mismatch_config, r"do not fit its config\.json \(.*of another shape"),
    "weights-cut-off": (_cut_weights, r"model\.safetensors is corrupt or incomplete"),
    "weights-missing-a-tensor": (_drop_a_tensor, r"do not fit its config\.json \(1 missing"),
}


@pytest.mark.parametrize("name", list(BREAKS))
def test_push_refuses_a_folder_that_does_not_load(online, make_outputs, capsys, name: str) -> None:
    output_dir = make_outputs("seed_cnn")
    damage, message = BREAKS[name]
    damage(output_dir)
    before = snapshot(output_dir)
    repo_id = f"{USER}/broken-{name}"
    status = cli_main(["push", str(output_dir), "--repo-id", repo_id, "--token", TOKEN])
    assert status == 2
    err = capsys.readouterr().err
    assert_one_line_error(err, "Nothing was uploaded")
    assert re.search(message, err), err
    assert_unchanged(before, output_dir)
    assert repo_id not in online.store.repos
    with pytest.raises(HubError, match=message):
        push_to_hub(output_dir, repo_id, token=TOKEN)
    assert cli_main(["push", str(output_dir), "--dry-run"]) == 2  # the dry run checks the same


def test_a_sound_vit_folder_passes_the_check(online, make_outputs) -> None:
    push_to_hub(make_outputs("vit"), f"{USER}/sound-vit", token=TOKEN)  # legacy key names map correctly
    assert "model.safetensors" in online.store.get_repo(f"{USER}/sound-vit").resolve("main").tree


class _Dropped(Exception):
    """Stands in for httpx.RemoteProtocolError (a TransportError)."""


class TransportError(_Dropped):
    pass


def _wrapped_upload_failure() -> RuntimeError:
    try:
        try:
            raise TransportError("Server disconnected without sending a response.")
        except TransportError as error:
            raise RuntimeError("Error while uploading 'model.safetensors' to the Hub.") from error
    except RuntimeError as outer:
        return outer


def test_no_xet_advice_when_xet_is_already_off(monkeypatch) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)
    other = RuntimeError("the server said no")
    assert "HF_HUB_DISABLE_XET" not in str(hub_error(other, "http://hub", "u/r"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", False)
    assert "set HF_HUB_DISABLE_XET=1" in str(hub_error(other, "http://hub", "u/r"))
    assert "HF_HUB_DISABLE_XET" not in str(hub_error(other, "http://hub", "u/r", xet_disabled=True))


def test_a_dropped_upload_is_named_as_such() -> None:
    message = str(hub_error(_wrapped_upload_failure(), "http://hub", "u/r"))
    assert "connection to the Hub at http://hub dropped" in message and "HF_HUB_DISABLE_XET" not in message
