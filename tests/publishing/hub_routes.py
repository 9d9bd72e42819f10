"""Endpoints of the test Hub server: each function answers one route of :data:`ROUTES`.

Response shapes follow what huggingface_hub 2.x parses (see ``hf_api.py``, ``_commit_api.py``, ``lfs.py``
and ``file_download.py``); comments name the client call each endpoint serves.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import yaml

from tests.publishing.hub_store import Commit, Repo, StoreError, folder_item, iso_date, list_tree, tree_item

REPO = r"(?P<repo_id>[^/]+/[^/]+?)"
REV = r"(?P<revision>[^/]+)"
SPACE_SDKS = ("gradio", "docker", "static", "streamlit")
URL_PREFIXES = {"dataset": "datasets/", "space": "spaces/"}
NO_XET = (
    "This test Hub has no Xet storage: set HF_HUB_DISABLE_XET=1 so LFS files go through the git-LFS protocol."
)


def whoami(h: Any) -> None:
    """``HfApi.whoami``."""
    user = h.require_user()
    access = {"displayName": "test token", "role": "write", "createdAt": "2026-01-01T00:00:00.000Z"}
    h.send_json(
        {
            "type": "user",
            "id": hashlib.sha1(user.encode()).hexdigest()[:24],
            "name": user,
            "fullname": user.title(),
            "isPro": False,
            "orgs": [],
            "auth": {"type": "access_token", "accessToken": access},
        }
    )


def create_repo(h: Any) -> None:
    """``HfApi.create_repo``: 409 when it exists (``exist_ok=True`` swallows that client-side)."""
    user = h.require_user()
    body = h.read_json()
    kind = body.get("type", "model")
    if kind not in ("model", "dataset", "space"):
        raise StoreError(400, "This test Hub only hosts model, dataset and Space repos")
    if kind == "space" and body.get("sdk") not in SPACE_SDKS:
        raise StoreError(400, f"A Space needs an sdk among {', '.join(SPACE_SDKS)}, got {body.get('sdk')!r}")
    namespace = body.get("organization") or user
    if namespace != user:
        raise StoreError(403, f"You don't have the rights to create a repo under {namespace!r}")
    repo_id = f"{namespace}/{body['name']}"
    private = body.get("visibility") == "private" or bool(body.get("private"))
    h.repo_type = kind
    try:
        repo = h.hub.store.create_repo(h.repo_key(repo_id), owner=user, private=private)
        repo.sdk = body.get("sdk")
    except StoreError as error:
        h.send_json({"error": str(error), "url": f"{h.hub.endpoint}/{repo_id}"}, status=error.status)
        return
    url = f"{h.hub.endpoint}/{URL_PREFIXES.get(kind, '')}{repo_id}"
    h.send_json({"url": url, "name": repo_id, "id": repo_id})


def delete_repo(h: Any) -> None:
    """``HfApi.delete_repo``."""
    user = h.require_user()
    body = h.read_json()
    repo_id = f"{body.get('organization') or user}/{body['name']}"
    h.repo_type = body.get("type", "model")
    h.writable_repo(repo_id)
    h.hub.store.delete_repo(h.repo_key(repo_id))
    h.send_json({})


def update_settings(h: Any, repo_id: str) -> None:
    """``HfApi.update_repo_settings`` (visibility only)."""
    repo = h.writable_repo(repo_id)
    body = h.read_json()
    if "private" in body:
        repo.private = bool(body["private"])
    if "visibility" in body:
        repo.private = body["visibility"] == "private"
    h.send_json({"private": repo.private})


def validate_yaml(h: Any) -> None:
    """``HfApi._validate_yaml``, called by ``create_commit`` before uploading a README.md."""
    content = h.read_json().get("content", "")
    errors, warnings = _card_metadata_problems(content)
    h.send_json({"errors": errors, "warnings": warnings}, status=400 if errors else 200)


def _card_metadata_problems(content: str) -> tuple[list[dict], list[dict]]:
    match = re.match(r"^---\s*\n(.*?)\n---\s*\n", content, flags=re.DOTALL)
    if match is None:
        return [], [{"message": "Empty or missing yaml metadata in repo card"}]
    try:
        metadata = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as error:
        return [{"message": f"Invalid YAML: {error}"}], []
    if not isinstance(metadata, dict):
        return [{"message": "Metadata must be a YAML mapping"}], []
    errors = []
    for index, entry in enumerate(metadata.get("model-index") or []):
        for result in entry.get("results", []):
            if "type" not in result.get("task", {}) or not result.get("metrics"):
                errors.append({"message": f'"model-index[{index}].results" needs task.type and metrics'})
            for metric in result.get("metrics", []):
                if "type" not in metric or "value" not in metric:
                    errors.append({"message": f'"model-index[{index}]" metric needs "type" and "value"'})
    return errors, []


def model_info(h: Any, repo_id: str, revision: str = "main") -> None:
    """``HfApi.model_info`` / ``dataset_info`` / ``space_info`` / ``repo_exists`` (maybe at a revision)."""
    repo = h.readable_repo(repo_id)
    commit = repo.resolve(revision)
    blobs = h.query.get("blobs", "").lower() in ("1", "true")
    siblings = []
    for path, entry in sorted(commit.tree.items()):
        sibling: dict[str, Any] = {"rfilename": path}
        if blobs:
            sibling.update(size=entry.size, blobId=entry.git_oid)
            if entry.lfs:
                sibling["lfs"] = {"size": entry.size, "sha256": entry.sha256, "pointerSize": 134}
        siblings.append(sibling)
    card = _card_metadata(h, commit)
    h.send_json(
        {
            "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
            "id": repo_id,
            "modelId": repo_id,
            "author": repo.owner,
            "sha": commit.oid,
            "lastModified": iso_date(commit.date),
            "createdAt": iso_date(repo.created),
            "private": repo.private,
            "disabled": False,
            "gated": False,
            "downloads": 0,
            "likes": 0,
            "tags": card.get("tags") or [],
            "pipeline_tag": card.get("pipeline_tag"),
            "library_name": card.get("library_name"),
            "cardData": card or None,
            "siblings": siblings,
            "sdk": repo.sdk,
        }
    )


def _card_metadata(h: Any, commit: Commit) -> dict:
    entry = commit.tree.get("README.md")
    if entry is None:
        return {}
    text = h.hub.store.file_content(entry).decode("utf-8", errors="replace")
    match = re.match(r"^---\s*\n(.*?)\n---\s*\n", text, flags=re.DOTALL)
    try:
        data = yaml.safe_load(match.group(1)) if match else {}
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def tree(h: Any, repo_id: str, revision: str, path: str = "") -> None:
    """``HfApi.list_repo_tree`` / ``list_repo_files`` (one page, no ``Link`` header)."""
    commit = h.readable_repo(repo_id).resolve(revision)
    recursive = h.query.get("recursive", "").lower() in ("1", "true")
    items = list_tree(commit.tree, path, recursive)
    if path and not items and path not in commit.tree:
        raise StoreError(404, f"{path} does not exist on {revision}", code="EntryNotFound")
    h.send_json(items)


def paths_info(h: Any, repo_id: str, revision: str) -> None:
    """``HfApi.get_paths_info`` (posted as a urlencoded form)."""
    commit = h.readable_repo(repo_id).resolve(revision)
    items = []
    for path in h.read_form_or_json().get("paths", []):
        path = path.strip("/")
        if path in commit.tree:
            items.append(tree_item(path, commit.tree[path], commit))
        elif any(existing.startswith(path + "/") for existing in commit.tree):
            items.append(folder_item(path))
    h.send_json(items)


def preupload(h: Any, repo_id: str, revision: str) -> None:
    """``_fetch_upload_modes``: regular vs LFS per file, plus the stored oid (unchanged files are skipped)."""
    repo = h.writable_repo(repo_id)
    commit = repo.resolve(revision)
    files = []
    for item in h.read_json().get("files", []):
        mode = h.hub.upload_mode(item["path"])
        existing = commit.tree.get(item["path"])
        oid = None
        if existing is not None:
            oid = existing.sha256 if mode == "lfs" else existing.git_oid
        files.append({"path": item["path"], "uploadMode": mode, "shouldIgnore": False, "oid": oid})
    h.send_json({"files": files, "commitOid": commit.oid})


def commit(h: Any, repo_id: str, revision: str) -> None:
    """``_send_commit``: an NDJSON stream (header line, then one line per file operation)."""
    repo: Repo = h.writable_repo(repo_id)
    if h.query.get("create_pr"):
        raise StoreError(400, "This test Hub does not support pull requests (create_pr)")
    lines = [json.loads(line) for line in h.read_body().splitlines() if line.strip()]
    if not lines or lines[0].get("key") != "header":
        raise StoreError(400, "The commit payload must start with a header line")
    new = h.hub.store.commit(repo.repo_id, revision, lines[0]["value"], lines[1:])
    h.send_json(
        {
            "success": True,
            "commitOid": new.oid,
            "commitUrl": f"{h.hub.endpoint}/{repo_id}/commit/{new.oid}",
            "pullRequestUrl": None,
            "hookOutput": "",
        }
    )


def refs(h: Any, repo_id: str) -> None:
    """``HfApi.list_repo_refs``."""
    repo = h.readable_repo(repo_id)
    branches = [
        {"name": name, "ref": f"refs/heads/{name}", "targetCommit": oid}
        for name, oid in sorted(repo.branches.items())
    ]
    h.send_json({"branches": branches, "converts": [], "tags": [], "pullRequests": []})


def commits(h: Any, repo_id: str, revision: str) -> None:
    """``HfApi.list_repo_commits`` (newest first, one page)."""
    repo = h.readable_repo(repo_id)
    current: Commit | None = repo.resolve(revision)
    history = []
    while current is not None:
        history.append(
            {
                "id": current.oid,
                "title": current.title,
                "message": current.description,
                "authors": [{"user": repo.owner}],
                "date": iso_date(current.date),
            }
        )
        current = repo.commits.get(current.parent) if current.parent else None
    h.send_json(history)


def create_branch(h: Any, repo_id: str, branch: str) -> None:
    """``HfApi.create_branch``: 409 when it exists (``exist_ok=True`` swallows that client-side)."""
    h.writable_repo(repo_id)
    h.hub.store.create_branch(h.repo_key(repo_id), branch, h.read_json().get("startingPoint"))
    h.send_json({})


def delete_branch(h: Any, repo_id: str, branch: str) -> None:
    """``HfApi.delete_branch``."""
    h.writable_repo(repo_id)
    h.hub.store.delete_branch(h.repo_key(repo_id), branch)
    h.send_json({})


def xet_token(h: Any, repo_id: str, kind: str, revision: str) -> None:
    """hf_xet asks for a token before uploading LFS files: refuse clearly."""
    raise StoreError(501, NO_XET)


def lfs_batch(h: Any, repo_id: str) -> None:
    """``post_lfs_batch_info``: one signed ``PUT`` URL (+ verify) per object not stored yet."""
    h.writable_repo(repo_id)
    body = h.read_json()
    if body.get("operation") != "upload":
        raise StoreError(400, "Only the upload operation is supported")
    objects = []
    for item in body.get("objects", []):
        oid, size = item["oid"], int(item["size"])
        answer: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
        if oid not in h.hub.store.lfs_objects:
            answer["actions"] = {
                "upload": {"href": f"{h.hub.endpoint}/lfs-upload/{oid}?size={size}&sig={h.hub.sign(oid)}"},
                "verify": {"href": f"{h.hub.endpoint}/lfs-verify/{oid}", "header": {}},
            }
        objects.append(answer)
    h.send_bytes(
        200,
        json.dumps({"transfer": "basic", "objects": objects, "hash_algo": "sha256"}).encode(),
        content_type="application/vnd.git-lfs+json",
    )


def lfs_upload(h: Any, oid: str) -> None:
    """``_upload_single_part``: a plain ``PUT`` of the content to the signed URL (no auth header)."""
    if h.query.get("sig") != h.hub.sign(oid):
        raise StoreError(403, "Bad or missing upload signature")
    content = h.read_body()
    if hashlib.sha256(content).hexdigest() != oid or len(content) != int(h.query.get("size", -1)):
        raise StoreError(400, "Uploaded content does not match the announced sha256 / size")
    with h.hub.store.lock:
        h.hub.store.lfs_objects[oid] = content
    h.send_bytes(200, b"")


def lfs_verify(h: Any, oid: str) -> None:
    """The optional LFS ``verify`` action."""
    h.require_user()
    body = h.read_json()
    stored = h.hub.store.lfs_objects.get(oid)
    if stored is None or len(stored) != int(body.get("size", -1)):
        raise StoreError(404, f"LFS object {oid} not found")
    h.send_json({})


def resolve(h: Any, repo_id: str, revision: str, path: str) -> None:
    """``hf_hub_download``: ``HEAD`` for metadata then ``GET``; LFS files redirect to the signed CDN URL."""
    commit = h.readable_repo(repo_id).resolve(revision)
    entry = commit.tree.get(path)
    if entry is None:
        raise StoreError(
            404, f"Entry not found: {path}", code="EntryNotFound", headers={"X-Repo-Commit": commit.oid}
        )
    headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{entry.git_oid}"', "Accept-Ranges": "bytes"}
    if entry.lfs:
        query = f"sig={h.hub.sign(entry.sha256)}&commit={commit.oid}"
        location = f"http://{h.hub.cdn_host}:{h.hub.port}/lfs-cdn/{entry.sha256}?{query}"
        headers.update(
            {"Location": location, "X-Linked-Etag": f'"{entry.sha256}"', "X-Linked-Size": str(entry.size)}
        )
        h.send_bytes(302, b"", headers)
        return
    _send_content(h, h.hub.store.file_content(entry), headers)


def lfs_cdn(h: Any, oid: str) -> None:
    """The "CDN" behind LFS redirects: signed URL, must be reached without the Hub token."""
    if h.query.get("sig") != h.hub.sign(oid) or oid not in h.hub.store.lfs_objects:
        raise StoreError(403, "Bad signature")
    if h.headers.get("Authorization"):
        h.hub.cdn_saw_auth = True
    headers = {"ETag": f'"{oid}"', "X-Repo-Commit": h.query.get("commit", "")}
    _send_content(h, h.hub.store.lfs_objects[oid], headers)


def _send_content(h: Any, content: bytes, headers: dict[str, str]) -> None:
    match = re.fullmatch(r"bytes=(\d+)-(\d*)", h.headers.get("Range", ""))
    if match is None:
        h.send_bytes(200, content, headers)
        return
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else len(content) - 1
    headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
    h.send_bytes(206, content[start : end + 1], headers)


ROUTES = [
    (method, re.compile(pattern), handler)
    for method, pattern, handler in [
        ("GET", r"/api/whoami-v2", whoami),
        ("POST", r"/api/repos/create", create_repo),
        ("DELETE", r"/api/repos/delete", delete_repo),
        ("POST", r"/api/validate-yaml", validate_yaml),
        ("PUT", rf"/api/models/{REPO}/settings", update_settings),
        ("GET", rf"/api/models/{REPO}(?:/revision/{REV})?", model_info),
        ("GET", rf"/api/models/{REPO}/tree/{REV}(?:/(?P<path>.+))?", tree),
        ("POST", rf"/api/models/{REPO}/paths-info/{REV}", paths_info),
        ("POST", rf"/api/models/{REPO}/preupload/{REV}", preupload),
        ("POST", rf"/api/models/{REPO}/commit/{REV}", commit),
        ("GET", rf"/api/models/{REPO}/refs", refs),
        ("GET", rf"/api/models/{REPO}/commits/{REV}", commits),
        ("POST", rf"/api/models/{REPO}/branch/(?P<branch>[^/]+)", create_branch),
        ("DELETE", rf"/api/models/{REPO}/branch/(?P<branch>[^/]+)", delete_branch),
        ("GET", rf"/api/models/{REPO}/xet-(?P<kind>read|write)-token/{REV}", xet_token),
        ("POST", rf"/api/models/{REPO}/xet-(?P<kind>read|write)-token/{REV}", xet_token),
        ("POST", rf"/{REPO}\.git/info/lfs/objects/batch", lfs_batch),
        ("PUT", r"/lfs-upload/(?P<oid>[0-9a-f]{64})", lfs_upload),
        ("POST", r"/lfs-verify/(?P<oid>[0-9a-f]{64})", lfs_verify),
        ("GET", r"/lfs-cdn/(?P<oid>[0-9a-f]{64})", lfs_cdn),
        ("GET", rf"/{REPO}/resolve/{REV}/(?P<path>.+)", resolve),
    ]
]
