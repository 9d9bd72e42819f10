"""What an image file says about itself before it is decoded: format, size, JPEG quality, EXIF, hashes.

Everything here reads headers only (PIL parses the JPEG quantization tables and sampling factors while
opening), except :func:`perceptual_hash`, which decodes a reduced-size copy (JPEG draft mode). JPEG quality
is estimated the way libjpeg's ``cjpeg -quality Q`` (the IJG scaling of the standard Annex K tables) writes
it: the Q whose scaled tables are closest to the file's; ``jpeg_quality_exact`` says whether they match.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image, JpegImagePlugin

from hf_aidetect.data.workers import available_cores

logger = logging.getLogger(__name__)

# ITU-T T.81 Annex K tables in natural (row-major) order, the order PIL's ``image.quantization`` uses.
_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_CHROMINANCE = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, *([99] * 32),
)  # fmt: skip
_SUBSAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}


def _ijg_tables(quality: int) -> np.ndarray:
    """The luminance and chrominance tables libjpeg writes for ``quality`` (1-100), shape [2, 64]."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    base = np.array([_LUMINANCE, _CHROMINANCE], dtype=np.int64)
    return np.clip((base * scale + 50) // 100, 1, 255)


_ALL_TABLES = np.stack([_ijg_tables(q) for q in range(1, 101)])  # [100, 2, 64]


def estimate_jpeg_quality(quantization: dict[int, Sequence[int]]) -> tuple[int | None, bool]:
    """(quality 1-100, exact match) for PIL ``image.quantization``; (None, False) when there is none."""
    if not quantization:
        return None, False
    tables = [np.asarray(quantization[key], dtype=np.int64) for key in sorted(quantization)[:2]]
    if any(table.size != 64 for table in tables):
        return None, False
    errors = np.zeros(100)
    for index, table in enumerate(tables):
        errors += np.abs(_ALL_TABLES[:, index, :] - table).sum(axis=1)
    best = int(np.argmin(errors))
    return best + 1, bool(errors[best] == 0)


@dataclass
class FileFacts:
    """Header facts of one image row (``error`` set when it could not be read)."""

    split: str
    label: int
    source: str
    format: str = ""
    width: int = 0
    height: int = 0
    mode: str = ""
    file_size: int = 0
    exif: bool = False
    jpeg_quality: int | None = None
    jpeg_quality_exact: bool = False
    subsampling: str | None = None
    sha256: str = ""
    where: str = ""
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _payload(image: dict[str, Any]) -> tuple[bytes | None, str]:
    """(bytes in memory or None, where) of an undecoded ``datasets`` image ``{"path", "bytes"}``."""
    return image.get("bytes"), image.get("path") or ""


def _read_bytes(image: dict[str, Any]) -> bytes:
    data, path = _payload(image)
    if data is not None:
        return data
    with open(path, "rb") as handle:
        return handle.read()


def read_facts(
    image: dict[str, Any], split: str, label: int, source: str, with_hash: bool = True
) -> FileFacts:
    """Header facts (and the SHA-256 of the bytes) of one undecoded image row."""
    facts = FileFacts(split=split, label=int(label), source=source, where=image.get("path") or "(in memory)")
    try:
        data = _read_bytes(image)
        facts.file_size = len(data)
        if with_hash:
            facts.sha256 = hashlib.sha256(data).hexdigest()
        with Image.open(io.BytesIO(data)) as opened:
            facts.format = opened.format or "unknown"
            facts.width, facts.height = opened.size
            facts.mode = opened.mode
            facts.exif = bool(opened.info.get("exif")) or len(opened.getexif()) > 0
            if facts.format in ("JPEG", "MPO"):
                facts.jpeg_quality, facts.jpeg_quality_exact = estimate_jpeg_quality(opened.quantization)
                facts.subsampling = _SUBSAMPLING.get(JpegImagePlugin.get_sampling(opened), "other")
    except Exception as error:  # an unreadable file is a fact too, not a crash of the audit
        facts.error = f"{type(error).__name__}: {error}"
    return facts


def file_size(image: dict[str, Any]) -> int:
    """Bytes of one undecoded image row without reading it (``os.stat`` for files)."""
    data, path = _payload(image)
    if data is not None:
        return len(data)
    try:
        return os.stat(path).st_size
    except OSError:
        return -1


def sha256(image: dict[str, Any]) -> str:
    try:
        return hashlib.sha256(_read_bytes(image)).hexdigest()
    except OSError:
        return ""


def perceptual_hash(image: dict[str, Any]) -> int | None:
    """64-bit DCT perceptual hash (``imagehash.phash``) of a reduced-size decode; None if unreadable."""
    import imagehash

    try:
        with Image.open(io.BytesIO(_read_bytes(image))) as opened:
            opened.draft("L", (64, 64))  # JPEG: decode at 1/2 .. 1/8 size; phash works on 32 x 32
            value = imagehash.phash(opened.convert("L"))
    except Exception:
        return None
    return int(str(value), 16)


def parallel_map(function: Callable[..., Any], items: Iterable[Any], workers: int | None = None) -> list[Any]:
    """``function`` over ``items`` in threads (file reads and PIL header parsing release the GIL)."""
    workers = workers or min(8, 2 * available_cores())
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))
