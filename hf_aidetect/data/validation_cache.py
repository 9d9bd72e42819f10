"""Remember validation results per file so re-loading an unchanged folder skips the decode pass.

One JSON file per dataset root under ``$HF_AIDETECT_CACHE`` (default ``$HF_HOME/hf_aidetect/validation``),
mapping each path to ``[size, mtime_ns, reason-or-null]``. An entry is reused only when the file's size and
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
    base = os.environ.get("HF_AIDETECT_CACHE")
    if not base:
        hf_home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
        base = os.path.join(hf_home, "hf_aidetect")
    digest = hashlib.sha1(os.path.abspath(os.fspath(root)).encode()).hexdigest()[:20]
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
    payload = {"version": _VERSION, "max_image_pixels": Image.MAX_IMAGE_PIXELS, "files": entries}
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
