"""A small Hugging Face Hub-compatible HTTP server for offline tests (standard library only).

It implements the part of the Hub HTTP API that ``huggingface_hub`` (2.x) and ``transformers`` use to push
and load a model: ``whoami-v2``, repo create / delete / settings, ``validate-yaml``, ``preupload``, the
NDJSON ``commit``, the git-LFS batch API with a signed ``PUT`` upload and ``verify``, model info (also per
revision), ``tree``, ``paths-info``, ``refs``, ``commits``, branches, and ``resolve`` (``HEAD``/``GET`` with
``X-Repo-Commit`` / ``ETag``; LFS files answer with a redirect to a signed "CDN" URL plus ``X-Linked-Etag`` /
``X-Linked-Size`` like the real Hub). Auth is ``Authorization: Bearer <token>``: an unknown token gets 401
everywhere, writes need the namespace owner's token, private repos are invisible (401 ``RepoNotFound``)
without it. Files are stored as ``regular`` unless :attr:`HubServer.lfs_mode` asks for LFS (hf_xet would
otherwise upload LFS files through a xet endpoint this server does not speak).

Dataset and Space repos (``repo_type="dataset"`` / ``"space"``, a Space created with an ``sdk``) answer the
same routes under ``/api/datasets/`` and ``/datasets/`` (``/api/spaces/``, ``/spaces/``); the store keeps them
under ``datasets/<id>`` (``spaces/<id>``).

Run standalone from the repo root: ``python -m tests.publishing.hub_server --port 8765 --token hf_x:alice``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import socket
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.publishing import hub_routes
from tests.publishing.hub_store import HubStore, StoreError

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"
LFS_PATTERNS = (".safetensors", ".bin", ".pt", ".pth", ".png", ".jpg")


class HubServer:
    """The server, its users (token → username) and its behaviour switches for tests."""

    def __init__(self, tokens: dict[str, str], host: str = "127.0.0.1", port: int = 0) -> None:
        self.tokens = dict(tokens)
        self.store = HubStore()
        # "never": every file is a regular git blob; "gitattributes": weights/images go through LFS.
        self.lfs_mode = "never"
        # Path regex → HTTP status: the next matching request fails once with that status.
        self.faults: dict[str, int] = {}
        # Path regex → how many matching requests lose their connection half-way through the upload: the
        # server reads half the body, then hangs up without answering (a dropped connection).
        self.drops: dict[str, int] = {}
        self.requests: list[tuple[str, str]] = []
        self.cdn_saw_auth = False
        self.secret = secrets.token_bytes(16)
        self.httpd = ThreadingHTTPServer((host, port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.hub = self  # type: ignore[attr-defined]
        self.host, self.port = self.httpd.server_address[:2]
        # A different host name for the same socket plays the CDN: the client must not send auth there.
        self.cdn_host = "localhost" if _resolves_to(host, "localhost") else host
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> HubServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="hub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def sign(self, value: str) -> str:
        return hmac.new(self.secret, value.encode(), hashlib.sha256).hexdigest()[:32]

    def upload_mode(self, path: str) -> str:
        if self.lfs_mode == "gitattributes" and path.endswith(LFS_PATTERNS):
            return "lfs"
        return "regular"

    def take_drop(self, method: str, path: str) -> bool:
        for pattern, times in list(self.drops.items()):
            if times > 0 and re.search(pattern, f"{method} {path}"):
                self.drops[pattern] = times - 1
                return True
        return False

    def take_fault(self, method: str, path: str) -> int | None:
        for pattern, status in list(self.faults.items()):
            if re.search(pattern, f"{method} {path}"):
                del self.faults[pattern]
                return status
        return None


_TYPED_PREFIXES = (
    ("/api/spaces/", "/api/models/", "space"),
    ("/spaces/", "/", "space"),
    ("/api/datasets/", "/api/models/", "dataset"),
    ("/datasets/", "/", "dataset"),
)


def _model_route(path: str) -> tuple[str, str]:
    """A dataset or Space request's path as the model route it mirrors (``/api/spaces/`` ->
    ``/api/models/``, ``/datasets/x/resolve`` -> ``/x/resolve``), and the repo type."""
    for prefix, replacement, repo_type in _TYPED_PREFIXES:
        if path.startswith(prefix):
            return replacement + path[len(prefix) :], repo_type
    return path, "model"


def _resolves_to(host: str, name: str) -> bool:
    try:
        return socket.gethostbyname(name) == host
    except OSError:
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "TinyHub/1.0"

    @property
    def hub(self) -> HubServer:
        return self.server.hub  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request stderr lines; requests are recorded in ``hub.requests`` instead."""

    # -- request plumbing -------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        self.query = {key: values[-1] for key, values in parse_qs(split.query).items()}
        self.hub.requests.append((method, split.path))
        path, self.repo_type = _model_route(split.path)
        self._body: bytes | None = None
        if self.hub.take_drop(method, split.path):
            self._hang_up()
            return
        try:
            status = self.hub.take_fault(method, split.path)
            if status is not None:
                self.read_body()
                raise StoreError(status, f"Injected failure {status}")
            for route_method, pattern, handler in hub_routes.ROUTES:
                match = pattern.fullmatch(path)
                if match and route_method in (method, "GET" if method == "HEAD" else method):
                    groups = {key: unquote(value) for key, value in match.groupdict().items() if value}
                    handler(self, **groups)
                    return
            self.read_body()
            raise StoreError(404, f"Unknown endpoint {method} {split.path}")
        except StoreError as error:
            self._drain()
            self.send_error_json(error.status, str(error), code=error.code, headers=error.headers)
        except (ValueError, KeyError, json.JSONDecodeError) as error:
            self._drain()
            self.send_error_json(400, f"Bad request: {error!r}")
        except Exception as error:  # a server bug: answer (and keep the traceback) rather than hang up
            traceback.print_exc()
            self._drain()
            self.send_error_json(500, f"Test Hub server error: {error!r}")

    def _hang_up(self) -> None:
        """Read half of the request body, then close the connection without any answer."""
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length // 2)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _drain(self) -> None:
        """Read an unread request body so the kept-alive connection stays in sync for the next request."""
        try:
            self.read_body()
        except (OSError, ValueError):
            self.close_connection = True

    def read_body(self) -> bytes:
        if self._body is not None:
            return self._body
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self._body = b"".join(chunks)
        else:
            self._body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        return self._body

    def read_json(self) -> Any:
        body = self.read_body()
        return json.loads(body) if body else {}

    def read_form_or_json(self) -> dict[str, list[str]]:
        """``paths-info`` posts a urlencoded form; accept JSON too."""
        body = self.read_body().decode()
        if "json" in self.headers.get("Content-Type", ""):
            data = json.loads(body or "{}")
            return {key: value if isinstance(value, list) else [str(value)] for key, value in data.items()}
        return parse_qs(body)

    def repo_key(self, repo_id: str) -> str:
        """Where the store keeps ``repo_id``: datasets and Spaces live beside models under ``datasets/`` and
        ``spaces/``."""
        return {"dataset": f"datasets/{repo_id}", "space": f"spaces/{repo_id}"}.get(self.repo_type, repo_id)

    # -- auth -------------------------------------------------------------------------------------------

    def user(self) -> str | None:
        """The authenticated user, None when anonymous; an unknown token is refused outright."""
        header = self.headers.get("Authorization")
        if not header:
            return None
        token = header.removeprefix("Bearer ").strip()
        if token not in self.hub.tokens:
            raise StoreError(401, INVALID_CREDENTIALS)
        return self.hub.tokens[token]

    def require_user(self) -> str:
        user = self.user()
        if user is None:
            raise StoreError(401, "You must be authenticated to access this endpoint (pass a token).")
        return user

    def readable_repo(self, repo_id: str):
        """The repo if the caller may read it; private and missing repos look alike (401 RepoNotFound)."""
        user = self.user()
        repo = self.hub.store.repos.get(self.repo_key(repo_id))
        if repo is None or (repo.private and user != repo.owner):
            raise StoreError(401 if user is None else 404, "Repository not found", code="RepoNotFound")
        return repo

    def writable_repo(self, repo_id: str):
        user = self.require_user()
        repo = self.readable_repo(repo_id)
        if repo.owner != user:
            raise StoreError(403, f"You don't have the rights to write to {repo_id}")
        return repo

    # -- responses --------------------------------------------------------------------------------------

    def send_bytes(
        self, status: int, body: bytes, headers: dict[str, str] | None = None, content_type: str = ""
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/octet-stream")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), headers, content_type="application/json")

    def send_error_json(
        self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        extra = {"X-Error-Message": message, **(headers or {})}
        if code:
            extra["X-Error-Code"] = code
        self.send_json({"error": message}, status=status, headers=extra)


def main() -> None:  # pragma: no cover - manual use
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", action="append", default=["hf_test_token:testuser"], help="TOKEN:USER")
    parser.add_argument("--lfs", action="store_true", help="Store weights and images through git-LFS.")
    args = parser.parse_args()
    server = HubServer(dict(item.split(":", 1) for item in args.token), host=args.host, port=args.port)
    server.lfs_mode = "gitattributes" if args.lfs else "never"
    print(f"Hub-compatible test server on {server.endpoint}")
    server.httpd.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main()
