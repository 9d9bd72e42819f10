"""Where a stream comes from: a Hub dataset id, a local folder of Parquet / Arrow / WebDataset (tar) shards,
shard files or globs, or a ``save_to_disk`` folder.

:func:`open_stream_source` resolves the source once with ``datasets.load_dataset_builder`` (the same data-file
resolution ``load_dataset`` uses, README ``configs`` included) and keeps each split's data files, so that

* :meth:`StreamSource.stream` streams one split (``as_streaming_dataset``: nothing is downloaded up front);
* :meth:`StreamSource.load` loads one split map-style from **its own files only** (a validation split of a
  1 TB dataset costs the validation files, not the train ones);
* :meth:`StreamSource.counts` reads per-class counts from a pack manifest (``hf-aidetect pack`` writes
  :data:`PACK_MANIFEST`), the metadata route to ``class_weights auto``.

Split names are normalised like folder splits (``valid`` / ``val`` / ``dev`` -> ``validation``).
"""

from __future__ import annotations

import glob
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import Dataset, IterableDataset, load_dataset, load_dataset_builder, load_from_disk

from hf_aidetect.data.hub import is_saved_dataset
from hf_aidetect.data.layouts import looks_like_image_folder, split_name
from hf_aidetect.errors import DatasetLayoutError, HubError

logger = logging.getLogger(__name__)

PACK_MANIFEST = "hf_aidetect_pack.json"
SHARD_FORMATS = {".parquet": "parquet", ".arrow": "arrow", ".tar": "webdataset"}
# A save_to_disk split becomes this many contiguous shards (enough for several nodes x loader workers).
SAVED_SHARDS = 64


@dataclass
class StreamSource:
    """A resolved source: ``builder`` module name and data files per canonical split (or a saved dataset)."""

    origin: str
    builder: str | None
    data_files: dict[str, list[str]] = field(default_factory=dict)
    load_kwargs: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] | None = None
    saved: Any = None  # a save_to_disk Dataset / DatasetDict, memory-mapped

    @property
    def splits(self) -> list[str]:
        if self.saved is not None:
            return list(self.saved) if isinstance(self.saved, dict) else ["train"]
        return list(self.data_files)

    def where(self, split: str) -> str:
        return f"{split} split of {self.origin}"

    def _saved_split(self, split: str) -> Dataset:
        return self.saved[split] if isinstance(self.saved, dict) else self.saved

    def stream(self, split: str) -> IterableDataset:
        """``split`` as a ``datasets.IterableDataset`` (raw columns)."""
        if self.saved is not None:
            data = self._saved_split(split)
            return data.to_iterable_dataset(num_shards=max(1, min(len(data), SAVED_SHARDS)))
        return _load(self, split, streaming=True)

    def load(self, split: str) -> Dataset:
        """``split`` map-style, reading only its own data files."""
        if self.saved is not None:
            return self._saved_split(split)
        return _load(self, split, streaming=False)

    def labels(self, split: str, label_column: str) -> IterableDataset:
        """``split``'s label column as a stream; Parquet reads that column only (the counting pass)."""
        if self.builder == "parquet":
            return _load(self, split, streaming=True, columns=[label_column])
        return self.stream(split)

    def counts(self, split: str) -> dict[str, int] | None:
        """``{"real": n, "fake": n}`` of ``split`` from the pack manifest, when there is one."""
        info = ((self.manifest or {}).get("splits") or {}).get(split) or {}
        counts = info.get("counts")
        if isinstance(counts, dict) and {"real", "fake"} <= set(counts):
            return {"real": int(counts["real"]), "fake": int(counts["fake"])}
        return None


def _load(source: StreamSource, split: str, streaming: bool, **config: Any) -> Any:
    try:
        return load_dataset(
            source.builder,
            data_files={"train": source.data_files[split]},
            split="train",
            streaming=streaming,
            **source.load_kwargs,
            **config,
        )
    except Exception as error:  # unreadable shards, network, auth: one line that names the split
        raise HubError(
            f"Could not read the {source.where(split)} ({type(error).__name__}: {error}). Check the files "
            "(or your network and `hf auth login` for a Hub dataset)."
        ) from error


def _looks_like_hub_id(text: str) -> bool:
    return not text.startswith((".", "/", "~")) and text.count("/") <= 1 and not os.path.isabs(text)


def open_stream_source(
    source: str | os.PathLike, *, revision: str | None = None, token: str | bool | None = None
) -> StreamSource:
    """Resolve ``source`` (Hub id, shard folder, shard file / glob, ``save_to_disk`` folder) for streaming."""
    text = os.fspath(source)
    path = Path(os.path.expanduser(text))
    kwargs: dict[str, Any] = {}
    if revision is not None:
        kwargs["revision"] = revision
    if token is not None:
        kwargs["token"] = token
    if path.is_dir():
        if is_saved_dataset(path):
            saved = load_from_disk(str(path))
            return StreamSource(
                text, None, saved=_canonical(dict(saved) if hasattr(saved, "keys") else saved)
            )
        if looks_like_image_folder(path):
            raise DatasetLayoutError(
                f"{path} is a folder of image files: streaming reads shards. Pack it first with "
                f"`hf-aidetect pack {path} --out SHARDS/` and stream SHARDS/ (or drop --streaming)."
            )
        return _from_builder(text, str(path), kwargs, _local_manifest(path))
    if any(char in text for char in "*?[") or path.is_file():
        return _from_files(text, path)
    if not _looks_like_hub_id(text):
        raise DatasetLayoutError(f"Dataset {text} does not exist; give a shard folder or a Hub dataset id.")
    return _from_builder(text, text, kwargs, _hub_manifest(text, kwargs))


def _canonical(saved: Any) -> Any:
    if not isinstance(saved, dict):
        return saved
    return {_split(name, "the saved dataset"): data for name, data in saved.items()}


def _split(name: str, origin: str) -> str:
    canonical = split_name(str(name))
    if canonical is None:
        raise DatasetLayoutError(
            f"{origin} has an unknown split {name!r}: expected train, validation (valid/val/dev) and test."
        )
    return canonical


def _from_builder(origin: str, path: str, kwargs: dict[str, Any], manifest: dict | None) -> StreamSource:
    try:
        builder = load_dataset_builder(path, **kwargs)
    except Exception as error:
        offline = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("HF_DATASETS_OFFLINE")
        hint = (
            " (HF_HUB_OFFLINE is set: the Hub cannot be reached)"
            if offline and _looks_like_hub_id(path)
            else ""
        )
        raise HubError(
            f"Could not open {origin} for streaming{hint}: {type(error).__name__}: {error}. Give a folder of "
            "Parquet / Arrow / .tar shards or a Hub dataset id (`hf auth login` for private ones)."
        ) from error
    files = {_split(name, origin): list(paths) for name, paths in (builder.config.data_files or {}).items()}
    if not files:
        raise DatasetLayoutError(f"{origin} has no data files to stream.")
    return StreamSource(origin, builder.name, files, kwargs, manifest)


def _from_files(origin: str, path: Path) -> StreamSource:
    paths = sorted(glob.glob(os.path.expanduser(origin))) if not path.is_file() else [str(path)]
    if not paths:
        raise DatasetLayoutError(f"No shard file matches {origin}.")
    formats = {SHARD_FORMATS.get(Path(p).suffix.lower()) for p in paths}
    if len(formats) != 1 or None in formats:
        raise DatasetLayoutError(
            f"{origin} must match shards of one format ({', '.join(SHARD_FORMATS)}); found "
            f"{sorted({Path(p).suffix for p in paths})}."
        )
    return StreamSource(origin, formats.pop(), {"train": paths})


def _local_manifest(folder: Path) -> dict[str, Any] | None:
    return _read_manifest(folder / PACK_MANIFEST)


def _read_manifest(manifest: Path) -> dict[str, Any] | None:
    if not manifest.is_file():
        return None
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        logger.warning("Ignoring unreadable %s: %s", manifest, error)
        return None


def _hub_manifest(repo_id: str, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    from huggingface_hub import hf_hub_download

    try:
        local = hf_hub_download(repo_id, PACK_MANIFEST, repo_type="dataset", **kwargs)
    except Exception:  # not a pack (or unreachable: the data files will say so)
        return None
    return _read_manifest(Path(local))
