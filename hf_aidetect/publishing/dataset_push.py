"""Upload a pack (``hf-aidetect pack --push-to-hub``) as a Hub **dataset** repo, in one commit.

The repo then streams exactly like the local folder (``--dataset USER/NAME --streaming true``): its README
``configs`` name each split's shards, and the manifest gives the class counts without a counting pass.
Re-running a push is safe: the Hub keeps the LFS objects it already has, so an interrupted push of many GB
only uploads what is missing.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from hf_aidetect.data.streaming.sources import PACK_MANIFEST
from hf_aidetect.errors import DatasetLayoutError, HubError
from hf_aidetect.publishing.hub_errors import hub_error
from hf_aidetect.publishing.push import PushResult, commit_with_lfs_fallback, resolve_token

logger = logging.getLogger(__name__)


def pack_files(pack_dir: Path) -> list[str]:
    """The files of a complete pack, relative to it: card, manifest and every shard the manifest lists."""
    manifest_path = pack_dir / PACK_MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DatasetLayoutError(
            f"{pack_dir} is not a pack ({PACK_MANIFEST} unreadable: {error})."
        ) from error
    if not manifest.get("complete"):
        raise DatasetLayoutError(f"The pack in {pack_dir} is unfinished: run `hf-aidetect pack` again first.")
    shards = [shard["file"] for info in manifest["splits"].values() for shard in info["shards"]]
    missing = [name for name in shards if not (pack_dir / name).is_file()]
    if missing:
        raise DatasetLayoutError(
            f"{pack_dir} lacks {missing[0]}: run `hf-aidetect pack` again to rewrite it."
        )
    return ["README.md", PACK_MANIFEST, *shards]


def push_pack(
    pack_dir: str | Path,
    repo_id: str,
    *,
    private: bool | None = None,
    revision: str | None = None,
    token: str | None = None,
    endpoint: str | None = None,
    commit_message: str | None = None,
) -> PushResult:
    """Create (if needed) the dataset repo ``repo_id`` and upload the pack in ``pack_dir`` to it."""
    from huggingface_hub import CommitOperationAdd, HfApi

    pack_dir = Path(pack_dir)
    files = pack_files(pack_dir)
    api = HfApi(endpoint=endpoint, token=resolve_token(token))
    target = repo_id
    try:
        if "/" not in target:
            target = f"{api.whoami()['name']}/{target}"
        repo_url = api.create_repo(target, repo_type="dataset", private=private or None, exist_ok=True)
        branch = revision or "main"
        if branch != "main":
            api.create_branch(target, branch=branch, repo_type="dataset", exist_ok=True)
        logger.info(
            "Pushing %d files of %s to the dataset repo %s (branch %s).", len(files), pack_dir, target, branch
        )

        def commit() -> Any:
            operations = [
                CommitOperationAdd(path_in_repo=f, path_or_fileobj=str(pack_dir / f)) for f in files
            ]
            return api.create_commit(
                target,
                operations=operations,
                commit_message=commit_message or f"Upload {pack_dir.resolve().name} with hf-aidetect pack",
                repo_type="dataset",
                revision=branch,
            )

        info = commit_with_lfs_fallback(commit, api.endpoint, target)
    except HubError:
        raise
    except Exception as error:
        raise hub_error(error, api.endpoint, target) from error
    logger.info("Pushed the pack to %s (commit %s).", repo_url, info.oid)
    return PushResult(target, str(repo_url), info.commit_url, info.oid, branch, files)
