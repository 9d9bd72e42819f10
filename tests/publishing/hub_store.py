"""In-memory git-like storage behind the test Hub server: repos, branches, commits and blobs.

Kept free of HTTP so the server module only maps requests onto these operations. Object ids follow the
Hub's conventions because huggingface_hub compares them client-side: regular files carry their git blob
sha1, LFS files their content sha256 (the ``ETag`` of ``resolve`` and the ``oid`` of ``preupload``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field

GITATTRIBUTES = (
    b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n"
)
LFS_POINTER_SIZE = 134


class StoreError(Exception):
    """A request the store refuses; ``status`` / ``code`` become the HTTP status and ``X-Error-Code``."""

    def __init__(
        self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers or {}


def git_blob_sha1(content: bytes) -> str:
    """The git object id of a blob (what the Hub reports for regular files)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass(frozen=True)
class FileEntry:
    """One file of a commit's tree; LFS files keep only their sha256 (content lives in the LFS store)."""

    size: int
    git_oid: str
    sha256: str
    lfs: bool
    content: bytes | None = None

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.git_oid


@dataclass
class Commit:
    oid: str
    parent: str | None
    title: str
    description: str
    date: float
    tree: dict[str, FileEntry]


@dataclass
class Repo:
    repo_id: str
    owner: str
    private: bool
    created: float = field(default_factory=time.time)
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    sdk: str | None = None  # Spaces only

    def resolve(self, revision: str) -> Commit:
        """A branch name, ``refs/heads/<branch>`` or a (possibly short) commit id → its commit."""
        revision = revision.removeprefix("refs/heads/")
        if revision in self.branches:
            return self.commits[self.branches[revision]]
        if len(revision) >= 7:
            matches = [oid for oid in self.commits if oid.startswith(revision)]
            if len(matches) == 1:
                return self.commits[matches[0]]
        raise StoreError(404, f"Invalid rev id: {revision}", code="RevisionNotFound")


def _commit_oid(parent: str | None, title: str, tree: dict[str, FileEntry]) -> str:
    listing = {path: entry.git_oid for path, entry in sorted(tree.items())}
    payload = json.dumps([parent, title, listing, time.time_ns()]).encode()
    return hashlib.sha1(payload).hexdigest()


class HubStore:
    """Thread-safe repositories and the LFS object store (shared by all repos, like a CDN bucket)."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.lock = threading.RLock()

    def get_repo(self, repo_id: str) -> Repo:
        repo = self.repos.get(repo_id)
        if repo is None:
            raise StoreError(404, "Repository not found", code="RepoNotFound")
        return repo

    def create_repo(self, repo_id: str, owner: str, private: bool) -> Repo:
        with self.lock:
            if repo_id in self.repos:
                raise StoreError(409, "You already created this model repo")
            repo = Repo(repo_id=repo_id, owner=owner, private=private)
            self.repos[repo_id] = repo
            entry = FileEntry(
                size=len(GITATTRIBUTES),
                git_oid=git_blob_sha1(GITATTRIBUTES),
                sha256=hashlib.sha256(GITATTRIBUTES).hexdigest(),
                lfs=False,
                content=GITATTRIBUTES,
            )
            self._add_commit(repo, "main", None, "initial commit", "", {".gitattributes": entry})
            return repo

    def delete_repo(self, repo_id: str) -> None:
        with self.lock:
            self.get_repo(repo_id)
            del self.repos[repo_id]

    def _add_commit(
        self, repo: Repo, branch: str, parent: str | None, title: str, description: str, tree: dict
    ) -> Commit:
        oid = _commit_oid(parent, title, tree)
        commit = Commit(
            oid=oid, parent=parent, title=title, description=description, date=time.time(), tree=tree
        )
        repo.commits[oid] = commit
        repo.branches[branch] = oid
        return commit

    def commit(self, repo_id: str, branch: str, header: dict, operations: list[dict]) -> Commit:
        """Apply NDJSON commit operations (``file`` / ``lfsFile`` / ``deletedFile`` / ``deletedFolder``)."""
        with self.lock:
            repo = self.get_repo(repo_id)
            branch = branch.removeprefix("refs/heads/")
            if branch not in repo.branches:
                raise StoreError(404, f"Invalid rev id: {branch}", code="RevisionNotFound")
            head = repo.commits[repo.branches[branch]]
            parent_commit = header.get("parentCommit")
            if parent_commit and not head.oid.startswith(parent_commit):
                raise StoreError(
                    412, f"Parent commit {parent_commit} is not the head of {branch} ({head.oid})"
                )
            tree = dict(head.tree)
            for operation in operations:
                self._apply(tree, operation["key"], operation["value"])
            return self._add_commit(
                repo, branch, head.oid, header.get("summary") or "update", header.get("description", ""), tree
            )

    def _apply(self, tree: dict[str, FileEntry], key: str, value: dict) -> None:
        path = value["path"]
        if key == "file":
            content = (
                base64.b64decode(value["content"]) if value.get("encoding") == "base64" else value["content"]
            )
            if isinstance(content, str):
                content = content.encode()
            tree[path] = FileEntry(
                size=len(content),
                git_oid=git_blob_sha1(content),
                sha256=hashlib.sha256(content).hexdigest(),
                lfs=False,
                content=content,
            )
        elif key == "lfsFile":
            oid = value["oid"]
            if oid not in self.lfs_objects:
                raise StoreError(422, f"LFS object {oid} for {path} was never uploaded")
            size = len(self.lfs_objects[oid])
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n".encode()
            tree[path] = FileEntry(size=size, git_oid=git_blob_sha1(pointer), sha256=oid, lfs=True)
        elif key == "deletedFile":
            if path not in tree:
                raise StoreError(404, "A file with this name doesn't exist", code="EntryNotFound")
            del tree[path]
        elif key == "deletedFolder":
            prefix = path.rstrip("/") + "/"
            for existing in [p for p in tree if p.startswith(prefix)]:
                del tree[existing]
        else:
            raise StoreError(400, f"Unknown commit operation {key!r}")

    def create_branch(self, repo_id: str, branch: str, starting_point: str | None) -> None:
        with self.lock:
            repo = self.get_repo(repo_id)
            if branch in repo.branches:
                raise StoreError(409, f"Reference refs/heads/{branch} already exists")
            repo.branches[branch] = repo.resolve(starting_point or "main").oid

    def delete_branch(self, repo_id: str, branch: str) -> None:
        with self.lock:
            repo = self.get_repo(repo_id)
            if branch == "main" or branch not in repo.branches:
                raise StoreError(400 if branch == "main" else 404, f"Cannot delete branch {branch}")
            del repo.branches[branch]

    def file_content(self, entry: FileEntry) -> bytes:
        if entry.lfs:
            return self.lfs_objects[entry.sha256]
        assert entry.content is not None
        return entry.content


def tree_item(path: str, entry: FileEntry, commit: Commit | None = None) -> dict:
    """The JSON of a file in ``tree`` / ``paths-info`` answers."""
    item: dict = {"type": "file", "oid": entry.git_oid, "size": entry.size, "path": path}
    if entry.lfs:
        item["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": LFS_POINTER_SIZE}
    if commit is not None:
        item["lastCommit"] = {"id": commit.oid, "title": commit.title, "date": iso_date(commit.date)}
    return item


def folder_item(path: str) -> dict:
    return {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0, "path": path}


def list_tree(tree: dict[str, FileEntry], folder: str, recursive: bool) -> list[dict]:
    """Entries directly under ``folder`` ("" = root), or all below it when ``recursive``."""
    prefix = folder.strip("/") + "/" if folder.strip("/") else ""
    items: dict[str, dict] = {}
    for path, entry in sorted(tree.items()):
        if not path.startswith(prefix):
            continue
        parts = path[len(prefix) :].split("/")
        for depth in range(1, len(parts)):
            sub = prefix + "/".join(parts[:depth])
            if recursive or depth == 1:
                items.setdefault(sub, folder_item(sub))
        if recursive or len(parts) == 1:
            items[path] = tree_item(path, entry)
    return list(items.values())


def iso_date(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(timestamp))
