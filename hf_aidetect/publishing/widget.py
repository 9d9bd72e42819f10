"""Example images of the model card's widget (``--card_widget``): copied into ``OUTPUT_DIR/widget/``.

The Hub's image-classification widget offers the card's ``widget:`` images to try the model with. A number
N takes N test images per class (seeded), written with their original bytes (a detector must be shown the
file, not a re-encoding); paths are copied the same way; URLs are kept as they are. The card lists them
relative to the model folder, and ``push`` re-renders them as ``resolve`` URLs of the repository.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset
from datasets import Image as ImageFeature

from hf_aidetect.data.labels import ID2LABEL
from hf_aidetect.errors import ConfigError
from hf_aidetect.files import atomic_directory
from hf_aidetect.files.layout import WIDGET_DIR

logger = logging.getLogger(__name__)


def _suffix(name: str | None, data: bytes) -> str:
    suffix = Path(name or "").suffix.lower()
    if suffix in (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"):
        return suffix
    return ".png" if data.startswith(b"\x89PNG") else ".jpg"


def _test_images(test: Dataset, per_class: int, seed: int) -> list[tuple[str, bytes, str | None]]:
    """(title, bytes, original name) of ``per_class`` seeded test images of each class."""
    rows = test.cast_column("image", ImageFeature(decode=False)).with_format(None)
    labels = np.asarray(rows["label"])
    rng = np.random.default_rng(seed)
    picked = []
    for label in sorted(ID2LABEL):
        indices = np.flatnonzero(labels == label)
        for number, index in enumerate(sorted(rng.permutation(indices)[:per_class].tolist()), start=1):
            image = rows[int(index)]["image"]
            data = image.get("bytes") or Path(image["path"]).read_bytes()
            picked.append((f"{ID2LABEL[label]} (test image {number})", data, image.get("path")))
    return picked


def write_widget_images(
    output_dir: str | Path, test: Dataset, spec: Sequence[str], *, seed: int = 0
) -> list[dict[str, Any]]:
    """Write the widget images; return the card's entries ``{"src": "widget/real_1.jpg", ...}``."""
    output_dir = Path(output_dir)
    items: list[tuple[str, bytes, str | None]] = []
    entries: list[dict[str, Any]] = []
    if len(spec) == 1 and str(spec[0]).isdigit():
        items = _test_images(test, int(spec[0]), seed)
    else:
        for item in spec:
            if str(item).startswith(("http://", "https://")):
                entries.append({"src": str(item), "example_title": Path(str(item)).stem})
                continue
            path = Path(item).expanduser()
            if not path.is_file():
                raise ConfigError(
                    f"--card_widget {item}: no such image file; pass image paths, URLs or a count"
                )
            items.append((path.stem, path.read_bytes(), path.name))
    if not items:
        return entries
    with atomic_directory(output_dir / WIDGET_DIR, replace=True) as partial:
        for number, (title, data, name) in enumerate(items, start=1):
            stem = title.split(" ")[0] if " (test image" in title else Path(name or title).stem
            file_name = f"{number:02d}_{stem}{_suffix(name, data)}"
            (partial / file_name).write_bytes(data)
            entries.append({"src": f"{WIDGET_DIR}/{file_name}", "example_title": title})
    logger.info("Wrote %d widget image(s) to %s.", len(items), output_dir / WIDGET_DIR)
    return entries


def widget_entries(
    entries: Sequence[dict[str, Any]], repo_id: str | None, revision: str | None
) -> list[dict]:
    """The card's ``widget:`` list: images in the model folder as ``resolve`` URLs once the repo is known."""
    if not repo_id:
        return [dict(entry) for entry in entries]
    from huggingface_hub import constants

    base = f"{constants.ENDPOINT.rstrip('/')}/{repo_id}/resolve/{revision or 'main'}"
    return [
        {**entry, "src": entry["src"] if "://" in entry["src"] else f"{base}/{entry['src']}"}
        for entry in entries
    ]
