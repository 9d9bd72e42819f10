"""The connection to the Hub drops in the middle of a push: the local folder is untouched, the repo gets no
partial commit, the error is one line that gives the right advice, and re-running the push completes it.

The local Hub (tests/publishing/hub_server.py) hangs up half-way through reading a request body
(``HubServer.drops``), as a proxy or a flaky link does.
"""

from __future__ import annotations

import huggingface_hub
import huggingface_hub.utils._http as hub_http
import pytest

from hf_aidetect.cli import main as cli_main
from hf_aidetect.errors import HubError
from hf_aidetect.publishing.push import push_to_hub
from tests.faults.conftest import assert_one_line_error, assert_unchanged, snapshot
from tests.publishing.conftest import TOKEN, USER


def fresh_weights(output_dir, salt: float) -> None:
    """Make the weights' bytes unique: the test Hub stores LFS objects by hash for the whole session, and
    an object it already holds is never uploaded again (so could not be dropped)."""
    import torch

    from hf_aidetect.models import SeedCNNForImageClassification

    model = SeedCNNForImageClassification.from_pretrained(output_dir)
    with torch.no_grad():
        next(model.parameters()).add_(salt)
    model.save_pretrained(output_dir)


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub retries dropped requests with exponential back-off (1 + 2 + 4 + 8 + 8 s): skip the
    waiting, keep the retries."""
    monkeypatch.setattr(hub_http.time, "sleep", lambda seconds: None)


@pytest.mark.parametrize("xet_disabled", [True, False], ids=["HF_HUB_DISABLE_XET=1", "xet-refused-fallback"])
def test_large_file_upload_dropped_every_time(
    online, make_outputs, monkeypatch, capsys, no_backoff, xet_disabled: bool
) -> None:
    """Every attempt of the LFS upload of the weights loses its connection: after huggingface_hub's retries
    the push fails in one line that says the connection dropped, and never advises HF_HUB_DISABLE_XET=1
    when the upload already went without Xet (set by the user, or by our fallback)."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", xet_disabled)
    monkeypatch.setattr(online, "lfs_mode", "gitattributes")
    output_dir = make_outputs("seed_cnn")
    fresh_weights(output_dir, 0.25 if xet_disabled else 0.5)
    before = snapshot(output_dir)
    repo_id = f"{USER}/dropped-{xet_disabled}"
    online.drops[r"PUT /lfs-upload/"] = 1000
    status = cli_main(["push", str(output_dir), "--repo-id", repo_id, "--token", TOKEN])
    err = capsys.readouterr().err
    assert status == 2
    assert_one_line_error(err, "dropped", "re-run")
    assert "HF_HUB_DISABLE_XET" not in err
    assert_unchanged(before, output_dir)
    assert "model.safetensors" not in online.store.get_repo(repo_id).resolve("main").tree
    online.drops.clear()
    result = push_to_hub(output_dir, repo_id, token=TOKEN)
    tree = online.store.get_repo(repo_id).resolve("main").tree
    assert (
        "model.safetensors" in tree and result.commit_oid == online.store.get_repo(repo_id).branches["main"]
    )
    stored = online.store.file_content(tree["model.safetensors"])
    assert stored == (output_dir / "model.safetensors").read_bytes()


def test_one_dropped_upload_is_retried(online, make_outputs, monkeypatch, no_backoff) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(online, "lfs_mode", "gitattributes")
    output_dir = make_outputs("seed_cnn")
    fresh_weights(output_dir, 0.75)
    online.drops[r"PUT /lfs-upload/"] = 1
    push_to_hub(output_dir, f"{USER}/retried", token=TOKEN)
    assert online.drops[r"PUT /lfs-upload/"] == 0  # it did drop once
    assert "model.safetensors" in online.store.get_repo(f"{USER}/retried").resolve("main").tree


def test_commit_dropped(online, make_outputs, no_backoff) -> None:
    """The commit request itself loses its connection: nothing is committed, the re-run commits all."""
    output_dir = make_outputs("vit")
    before = snapshot(output_dir)
    repo_id = f"{USER}/commit-dropped"
    online.drops[rf"POST /api/models/{repo_id}/commit/"] = 1
    with pytest.raises(HubError, match=r"dropped.*re-run"):
        push_to_hub(output_dir, repo_id, token=TOKEN)
    assert_unchanged(before, output_dir)
    assert "config.json" not in online.store.get_repo(repo_id).resolve("main").tree
    push_to_hub(output_dir, repo_id, token=TOKEN)
    assert "config.json" in online.store.get_repo(repo_id).resolve("main").tree
