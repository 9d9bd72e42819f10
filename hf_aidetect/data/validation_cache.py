"""Remember validation results per file so re-loading an unchanged folder skips the decode pass.

One JSON file per dataset root under ``$HF_AIDETECT_CACHE`` (default ``$HF_HOME/hf_aidetect/validation``),
mapping each path to ``[size, mtime_ns, reason-or-null]``; for on-disk ``datasets`` (Hub cache,
``save_to_disk``) the bad rows per dataset fingerprint. An entry is reused only when the file's size and
modification time are unchanged and ``PIL.Image.MAX_IMAGE_PIXELS`` is the same as when it was written.
Set ``HF_AIDETECT_VALIDATION_CACHE=0`` to always re-check. Failing to read or write the cache only logs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image

logger = logging.getLogger(__name__)

_VERSION = 1


def cache_enabled() -> bool:
    """False when ``HF_AIDETECT_VALIDATION_CACHE`` is ``0`` / ``false`` / ``no``."""
    return os.environ.get("HF_AIDETECT_VALIDATION_CACHE", "1").strip().lower() not in ("0", "false", "no")


def cache_path(root: str | os.PathLike) -> Path:
    """Where the results for dataset ``root`` live (read from the environment at call time)."""
    return _key_path(os.path.abspath(os.fspath(root)))


def _key_path(key: str) -> Path:
    base = os.environ.get("HF_AIDETECT_CACHE")
    if not base:
        hf_home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
        base = os.path.join(hf_home, "hf_aidetect")
    digest = hashlib.sha1(key.encode()).hexdigest()[:20]
    return Path(base) / "validation" / f"{digest}.json"


def _stat(path: str) -> list[int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def _load(file: Path) -> dict[str, list]:
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError):
        return {}
    if data.get("version") != _VERSION or data.get("max_image_pixels") != Image.MAX_IMAGE_PIXELS:
        return {}
    return data.get("files", {})


def _save(file: Path, entries: dict[str, list]) -> None:
    _write(file, {"version": _VERSION, "max_image_pixels": Image.MAX_IMAGE_PIXELS, "files": entries})


def _write(file: Path, payload: dict) -> None:
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(payload))
        os.replace(tmp, file)
    except OSError as error:
        logger.debug("Could not write the validation cache %s: %s", file, error)


def cached_check(
    paths: Sequence[str], root: str | os.PathLike, check: Callable[[Sequence[str]], list[str | None]]
) -> list[str | None]:
    """``check(paths)`` but only for files that changed since the last run under ``root``."""
    if not cache_enabled():
        return check(paths)
    file = cache_path(root)
    previous = _load(file)
    stats = [_stat(p) for p in paths]
    reasons: list[str | None] = [None] * len(paths)
    todo = []
    for index, (path, stat) in enumerate(zip(paths, stats)):
        entry = previous.get(path)
        if stat is not None and entry is not None and entry[:2] == stat:
            reasons[index] = entry[2]
        else:
            todo.append(index)
    if todo:
        for index, reason in zip(todo, check([paths[i] for i in todo])):
            reasons[index] = reason
        entries = {p: [*s, r] for p, s, r in zip(paths, stats, reasons) if s is not None}
        _save(file, entries)
    logger.info(
        "Validated %d image(s) (%d unchanged since the last check)", len(paths), len(paths) - len(todo)
    )
    return reasons


def load_row_results(key: str, n_rows: int) -> list[tuple[int, str, str]] | None:
    """Bad rows ``(row, where, reason)`` remembered for an on-disk dataset version ``key``, else ``None``."""
    if not cache_enabled():
        return None
    try:
        data = json.loads(_key_path(f"rows:{key}").read_text())
    except (OSError, ValueError):
        return None
    if data.get("version") != _VERSION or data.get("max_image_pixels") != Image.MAX_IMAGE_PIXELS:
        return None
    if data.get("n_rows") != n_rows:
        return None
    return [(int(row), str(where), str(reason)) for row, where, reason in data.get("bad", [])]


def save_row_results(key: str, n_rows: int, bad: list[tuple[int, str, str]]) -> None:
    """Remember the bad rows of dataset version ``key`` (see :func:`load_row_results`)."""
    if not cache_enabled():
        return
    payload = {"version": _VERSION, "max_image_pixels": Image.MAX_IMAGE_PIXELS, "n_rows": n_rows, "bad": bad}
    _write(_key_path(f"rows:{key}"), payload)
