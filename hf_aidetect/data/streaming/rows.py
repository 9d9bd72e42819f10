"""Streamed rows in the project's shape: ``image`` (undecoded), ``label`` (0/1), ``source``, ``sample_id``.

The same label rules as the map-style loader (:mod:`hf_aidetect.data.hub`): a ``ClassLabel`` is mapped by
name, strings through the label aliases, integers 0/1 as they are. Each row also gets a **stable sample id**
(a non-negative 63-bit integer) from which its augmentation draws and its place in a shuffle block are
derived, so a resumed stream reproduces both. The id is, in this order of preference:

* the ``id`` column (or ``--stream_id_column``) when it holds integers (``hf-aidetect pack`` writes one);
* a hash of ``__url__`` + ``__key__`` for WebDataset tars (the file name and the sample's key in it);
* a hash of the image bytes (or of its path when the image is not embedded).

A hashed id does not depend on the number of processes, loader workers or shards, nor on the position in
the stream, so it is the same in every run over the same data.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from datasets import ClassLabel, Features, IterableDataset, Value
from datasets import Image as ImageFeature

from hf_aidetect.data.labels import canonical_label, known_aliases
from hf_aidetect.errors import DatasetLayoutError

logger = logging.getLogger(__name__)

SAMPLE_ID = "sample_id"
PACK_ID = "id"
ID_MASK = (1 << 63) - 1
MAP_BATCH = 100  # rows per batched `map` call (a resumed stream re-reads at most this many)
STREAM_FEATURES = Features(
    {
        "image": ImageFeature(decode=False),
        "label": Value("int64"),
        "source": Value("string"),
        SAMPLE_ID: Value("int64"),
    }
)
_WEBDATASET_KEYS = ("__key__", "__url__")


def hashed_id(*parts: bytes | str | None) -> int:
    """A 63-bit id from a hash of ``parts`` (blake2b, 8 bytes)."""
    digest = hashlib.blake2b(digest_size=8)
    for part in parts:
        data = part.encode() if isinstance(part, str) else (part or b"")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return int.from_bytes(digest.digest(), "little") & ID_MASK


def column_names(split: IterableDataset) -> list[str]:
    """The split's columns: from its features, or from its first row when the features are unknown."""
    if split.column_names is not None:
        return list(split.column_names)
    first = next(iter(split.take(1)), None)
    return list(first) if first is not None else []


def find_image_column(features: Features | None, columns: list[str], requested: str, origin: str) -> str:
    """``requested`` when it is a column, else the one column of ``Image`` type (a WebDataset's ``jpg``)."""
    if requested in columns:
        return requested
    features = features or {}
    images = [name for name in columns if isinstance(features.get(name), ImageFeature)]
    if len(images) == 1:  # e.g. a WebDataset's "jpg" / "png" column
        logger.info("%s has no %r column; using its image column %r.", origin, requested, images[0])
        return images[0]
    raise DatasetLayoutError(
        f"{origin} has no column {requested!r} (columns: {columns}); pass --image_column NAME."
    )


class LabelLookup:
    """Maps a raw label value to 0 (real) / 1 (fake), as the map-style loader does; unknown values raise."""

    def __init__(self, feature: Any, column: str, origin: str) -> None:
        self.column, self.origin = column, origin
        self.by_index: dict[int, int | None] | None = None
        if isinstance(feature, ClassLabel):
            self.by_index = {i: canonical_label(name) for i, name in enumerate(feature.names)}
            unknown = sorted(feature.names[i] for i, value in self.by_index.items() if value is None)
            if unknown:
                raise self._error(unknown)

    def __call__(self, value: Any) -> int:
        mapped = self.by_index.get(value) if self.by_index is not None else canonical_label(value)
        if mapped is None:
            raise self._error([value])
        return mapped

    def _error(self, values: list[Any]) -> DatasetLayoutError:
        return DatasetLayoutError(
            f"Column {self.column!r} of {self.origin} has unknown label value(s) {values}; accepted are 0/1 "
            f"or {known_aliases()}. Pass --label_column NAME if the label is in another column."
        )


class RowNormaliser:
    """The batched ``map`` function: raw rows in, ``STREAM_FEATURES`` rows out (picklable, for workers).

    Batched because ``datasets`` spends about 3x more per row on a row-wise ``map`` than on this one.
    """

    def __init__(
        self, image: str, label: LabelLookup, source: str | None, id_rule: str, id_column: str | None
    ) -> None:
        self.image, self.label, self.source = image, label, source
        self.id_rule, self.id_column = id_rule, id_column

    def __call__(self, batch: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
        names = list(batch)
        rows = [self.row(dict(zip(names, values))) for values in zip(*batch.values())]
        return {name: [row[name] for row in rows] for name in STREAM_FEATURES}

    def row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        image = row[self.image]
        if not isinstance(image, Mapping):  # a plain binary column
            image = {"bytes": image, "path": None}
        return {
            "image": {"bytes": image.get("bytes"), "path": image.get("path")},
            "label": self.label(row[self.label.column]),
            "source": "" if self.source is None else str(row[self.source] or ""),
            SAMPLE_ID: self._sample_id(row, image),
        }

    def _sample_id(self, row: Mapping[str, Any], image: Mapping[str, Any]) -> int:
        if self.id_rule == "column":
            return int(row[self.id_column]) & ID_MASK
        if self.id_rule == "webdataset":
            url = str(row.get("__url__") or "").rsplit("/", 1)[-1]
            return hashed_id(url, str(row["__key__"]))
        return hashed_id(image.get("bytes") or image.get("path") or b"")


def _id_rule(split: IterableDataset, columns: list[str], id_column: str | None) -> tuple[str, str | None]:
    features = split.features or {}
    wanted = id_column or PACK_ID
    feature = features.get(wanted)
    if wanted in columns and (feature is None or getattr(feature, "dtype", "").startswith(("int", "uint"))):
        return "column", wanted
    if id_column is not None:
        raise DatasetLayoutError(
            f"--stream_id_column {id_column!r} is not an integer column of the stream (columns: {columns})."
        )
    if all(key in columns for key in _WEBDATASET_KEYS[:1]):
        return "webdataset", None
    return "content", None


def normalise_stream(
    split: IterableDataset,
    *,
    image_column: str = "image",
    label_column: str = "label",
    source_column: str | None = None,
    id_column: str | None = None,
    origin: str,
) -> IterableDataset:
    """``split`` reduced to :data:`STREAM_FEATURES` rows (lazily: nothing is read but the schema)."""
    columns = column_names(split)
    image_column = find_image_column(split.features, columns, image_column, origin)
    if label_column not in columns:
        raise DatasetLayoutError(
            f"{origin} has no column {label_column!r} (columns: {columns}); pass --label_column NAME."
        )
    if source_column is None and "source" in columns:
        source_column = "source"  # packs carry the generator sub-folder
    elif source_column is not None and source_column not in columns:
        raise DatasetLayoutError(f"{origin} has no column {source_column!r}; fix --source_column.")
    rule, id_name = _id_rule(split, columns, id_column)
    logger.info(
        "Stream %s: sample ids from %s.", origin, f"column {id_name!r}" if id_name else f"a {rule} hash"
    )
    lookup = LabelLookup((split.features or {}).get(label_column), label_column, origin)
    undecoded = split.cast_column(image_column, ImageFeature(decode=False))
    normaliser = RowNormaliser(image_column, lookup, source_column, rule, id_name)
    return undecoded.map(
        normaliser, batched=True, batch_size=MAP_BATCH, remove_columns=columns, features=STREAM_FEATURES
    )


def count_labels(labels: IterableDataset, label_column: str, origin: str) -> dict[str, int]:
    """Images per class in a stream of label values: the counting pass behind ``class_weights auto``."""
    lookup = LabelLookup((labels.features or {}).get(label_column), label_column, origin)
    counts = [0, 0]
    for batch in labels.select_columns([label_column]).iter(batch_size=4096):
        for value in batch[label_column]:
            counts[lookup(value)] += 1
    return {"real": counts[0], "fake": counts[1]}
