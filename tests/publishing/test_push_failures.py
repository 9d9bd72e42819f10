"""Push failures (bad token, server errors, server down, secrets) leave the local folder intact; LFS path.

These run huggingface_hub in-process: the session is offline (tests/conftest.py), so the ``online`` fixture
points its already-imported constants at the local Hub for the duration of one test.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub import hf_hub_download

from hf_aidetect.cli import main as cli_main
from hf_aidetect.errors import HubError
from hf_aidetect.publishing.push import push_to_hub, select_files
from tests.publishing.conftest import OTHER_TOKEN, TOKEN, USER, folder_digest


def test_default_file_selection(make_outputs) -> None:
    output_dir = make_outputs("seed_cnn")
    (output_dir / "scheduler.pt").write_bytes(b"x")
    (output_dir / "runs").mkdir()
    (output_dir / "runs" / "events.out").write_bytes(b"x")
    files = select_files(output_dir)
    assert {"model.safetensors", "config.json", "preprocessor_config.json", "modeling_seed_cnn.py"} <= set(
        files
    )
    assert "evaluation/roc_curve.png" in files
    for private in (
        "optimizer.pt",
        "scheduler.pt",
        "rng_state_0.pth",
        "training_args.bin",
        "runs/events.out",
    ):
        assert private not in files
    assert not [path for path in files if path.startswith("checkpoint-")]
    assert "training_args.bin" in select_files(output_dir, allow_patterns=["training_args.bin"])
    assert "trainer_state.json" not in select_files(output_dir, ignore_patterns=["trainer_state.json"])


def test_wrong_token_is_a_clear_error_and_changes_nothing(online, make_outputs, monkeypatch, capsys) -> None:
    output_dir = make_outputs("vit")
    before = folder_digest(output_dir)
    monkeypatch.setenv("HF_TOKEN", "hf_wrongWrongWrong0123456789abcdefghij")
    status = cli_main(["push", str(output_dir), "--repo-id", f"{USER}/never-created"])
    err = capsys.readouterr().err
    assert status == 2
    assert "401" in err and "hf auth login" in err and "HF_TOKEN" in err
    assert "hf_wrongWrongWrong" not in err and "Traceback" not in err
    assert folder_digest(output_dir) == before
    assert f"{USER}/never-created" not in online.store.repos


def test_missing_token_and_not_an_output_folder(online, make_outputs, tmp_path: Path) -> None:
    with pytest.raises(HubError, match="No Hugging Face token found"):
        push_to_hub(make_outputs("vit"), f"{USER}/x")
    with pytest.raises(HubError, match=r"config\.json"):
        push_to_hub(tmp_path, f"{USER}/x", token=TOKEN)


def test_server_error_then_rerun_succeeds(online, make_outputs) -> None:
    output_dir = make_outputs("vit")
    before = folder_digest(output_dir)
    repo_id = f"{USER}/flaky"
    online.faults[rf"POST /api/models/{repo_id}/commit/"] = 503
    with pytest.raises(HubError, match=r"server error \(503\).*re-run"):
        push_to_hub(output_dir, repo_id, token=TOKEN)
    assert folder_digest(output_dir) == before
    assert "model.safetensors" not in online.store.get_repo(repo_id).resolve("main").tree
    result = push_to_hub(output_dir, repo_id, token=TOKEN)
    assert "model.safetensors" in online.store.get_repo(repo_id).resolve("main").tree
    assert result.commit_oid == online.store.get_repo(repo_id).branches["main"]


def test_server_down(online, make_outputs) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(HubError, match="Cannot reach the Hub"):
        push_to_hub(make_outputs("vit"), f"{USER}/down", token=TOKEN, endpoint=closed)


def test_other_namespace_is_forbidden(online, make_outputs) -> None:
    with pytest.raises(HubError, match="403"):
        push_to_hub(make_outputs("vit"), "mallory/not-yours", token=TOKEN)


def test_token_inside_an_uploaded_file_blocks_the_push(online, make_outputs) -> None:
    output_dir = make_outputs("vit")
    with pytest.raises(HubError, match=r"training_args\.bin contains your Hub token"):
        push_to_hub(output_dir, f"{USER}/leaky", token=TOKEN, allow_patterns=["training_args.bin"])
    assert f"{USER}/leaky" not in online.store.repos


def test_private_repo_needs_its_owners_token(online, make_outputs) -> None:
    repo_id = f"{USER}/secret"
    push_to_hub(make_outputs("vit"), repo_id, token=TOKEN, private=True)
    url = f"{online.endpoint}/{repo_id}/resolve/main/config.json"
    for headers in ({}, {"Authorization": f"Bearer {OTHER_TOKEN}"}):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers))
        assert refused.value.code in (401, 404)
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert b'"model_type": "vit"' in urllib.request.urlopen(request).read()
    # Asking for --private on an existing public repo is refused instead of silently publishing.
    push_to_hub(make_outputs("vit", name="public"), f"{USER}/public", token=TOKEN)
    with pytest.raises(HubError, match="already exists and is public"):
        push_to_hub(make_outputs("vit", name="public2"), f"{USER}/public", token=TOKEN, private=True)


@pytest.mark.parametrize("disable_xet", [True, False], ids=["HF_HUB_DISABLE_XET", "xet-refused-fallback"])
def test_lfs_upload_path(online, make_outputs, monkeypatch, tmp_path: Path, disable_xet: bool) -> None:
    """LFS files go through the git-LFS batch API and a signed PUT (directly, or after the server refused
    Xet); downloads follow the redirect to the signed CDN URL without the token."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", disable_xet)
    monkeypatch.setattr(online, "lfs_mode", "gitattributes")
    output_dir = make_outputs("seed_cnn")
    repo_id = f"{USER}/lfs-cnn-{disable_xet}"
    push_to_hub(output_dir, repo_id, token=TOKEN)
    asked_xet = any("xet-write-token" in path for _, path in online.requests if repo_id in path)
    assert asked_xet is not disable_xet
    assert huggingface_hub.constants.HF_HUB_DISABLE_XET is disable_xet  # the fallback restores it
    entry = online.store.get_repo(repo_id).resolve("main").tree["model.safetensors"]
    assert entry.lfs
    assert any(path.endswith("/info/lfs/objects/batch") for _, path in online.requests)
    cache = tmp_path / "cache"
    path = hf_hub_download(
        repo_id, "model.safetensors", token=TOKEN, cache_dir=cache, endpoint=online.endpoint
    )
    assert Path(path).read_bytes() == (output_dir / "model.safetensors").read_bytes()
    assert any(path.startswith("/lfs-cdn/") for _, path in online.requests)
    if online.cdn_host != online.host:  # "localhost" plays a foreign CDN host: no token may go there
        assert not online.cdn_saw_auth


def test_foreign_readme_is_kept_and_keep_card(online, make_outputs, tmp_path: Path) -> None:
    """A README.md in a folder without our training files is the user's: uploaded as is."""
    from hf_aidetect.publishing.push import render_card_bytes

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "README.md").write_text("# my own card\n")
    assert render_card_bytes(plain, f"{USER}/plain") is None
    output_dir = make_outputs("vit")
    (output_dir / "README.md").write_text("---\nlicense: mit\n---\n# hand-written\n")
    assert b"Bias, risks and limitations" in render_card_bytes(output_dir, f"{USER}/x")
    push_to_hub(output_dir, f"{USER}/kept", token=TOKEN, regenerate_card=False)
    stored = online.store.get_repo(f"{USER}/kept").resolve("main").tree["README.md"]
    assert online.store.file_content(stored) == b"---\nlicense: mit\n---\n# hand-written\n"


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 1 << 20])
def test_secret_scan_finds_the_token_across_chunk_boundaries(tmp_path: Path, chunk_size: int) -> None:
    from hf_aidetect.publishing.push import _file_contains

    path = tmp_path / "weights.bin"
    path.write_bytes(b"\0" * 1000 + TOKEN.encode() + b"\1" * 5)
    assert _file_contains(path, TOKEN.encode(), chunk_size)
    assert not _file_contains(path, OTHER_TOKEN.encode(), chunk_size)


def test_cli_dry_run_lists_files_offline(make_outputs, capsys) -> None:
    output_dir = make_outputs("seed_cnn")
    assert cli_main(["push", str(output_dir), "--dry-run", "--exclude", "trainer_state.json"]) == 0
    listed = capsys.readouterr().out.split()
    assert "modeling_seed_cnn.py" in listed and "model.safetensors" in listed
    assert "trainer_state.json" not in listed and "training_args.bin" not in listed
