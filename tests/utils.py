"""Shared test helpers: tiny images of every mode / broken kind, and dataset layouts under ``tmp_path``.

Every writer takes the target path, creates parent folders, and returns the path. Images are small
(32-64 px) noise-and-gradient pictures so they compress like photos (JPEG truncation then really cuts
entropy-coded data). Layout builders return the folder to hand to ``load_detection_dataset``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = [
    "BAD_KINDS",
    "GOOD_KINDS",
    "make_class_folder",
    "make_disk_dataset",
    "make_kaggle_layout",
    "make_split_layout",
    "rgb_array",
    "write_bomb_png",
    "write_cmyk_jpeg",
    "write_exif_rotated_jpeg",
    "write_gray_png",
    "write_image",
    "write_kind",
    "write_not_an_image",
    "write_palette_png",
    "write_png16",
    "write_rgb_jpeg",
    "write_rgb_png",
    "write_rgba_png",
    "write_truncated_jpeg",
    "write_zero_byte",
]


def rgb_array(size: int | tuple[int, int] = 48, seed: int = 0) -> np.ndarray:
    """A deterministic ``[H, W, 3]`` uint8 gradient-plus-noise picture (``size``: side or (w, h))."""
    width, height = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / max(width - 1, 1), y * 255 / max(height - 1, 1), (x + y) % 256], axis=-1)
    noise = rng.integers(-40, 40, size=(height, width, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _prepare(path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_image(path: str | Path, image: Image.Image, **save_kwargs) -> Path:
    """Save a PIL image (format from the extension) and return the path."""
    path = _prepare(path)
    image.save(path, **save_kwargs)
    return path


def write_rgb_jpeg(
    path: str | Path, size: int | tuple[int, int] = 48, seed: int = 0, quality: int = 90
) -> Path:
    """A good RGB JPEG."""
    return write_image(path, Image.fromarray(rgb_array(size, seed)), quality=quality)


def write_rgb_png(path: str | Path, size: int | tuple[int, int] = 48, seed: int = 0) -> Path:
    """A good RGB PNG."""
    return write_image(path, Image.fromarray(rgb_array(size, seed)))


def write_gray_png(path: str | Path, size: int = 48, seed: int = 0) -> Path:
    """An 8-bit grayscale (mode ``L``) image; JPEG too if the path says ``.jpg``."""
    return write_image(path, Image.fromarray(rgb_array(size, seed)).convert("L"))


def write_rgba_png(path: str | Path, size: int = 48, seed: int = 0) -> Path:
    """An RGBA PNG: left half opaque picture, right half fully transparent (pure red underneath)."""
    rgba = np.dstack([rgb_array(size, seed), np.full((size, size), 255, np.uint8)])
    rgba[:, size // 2 :, :3] = (255, 0, 0)
    rgba[:, size // 2 :, 3] = 0
    return write_image(path, Image.fromarray(rgba, "RGBA"))


def write_palette_png(path: str | Path, size: int = 48, seed: int = 0, transparent: bool = False) -> Path:
    """A palette (mode ``P``) PNG, optionally with a transparent palette entry (index 0)."""
    image = Image.fromarray(rgb_array(size, seed)).quantize(colors=16)
    kwargs = {"transparency": 0} if transparent else {}
    return write_image(path, image, **kwargs)


def write_cmyk_jpeg(path: str | Path, size: int = 48, seed: int = 0) -> Path:
    """A CMYK JPEG (as print workflows and some stock photos produce)."""
    return write_image(path, Image.fromarray(rgb_array(size, seed)).convert("CMYK"), quality=95)


def write_png16(path: str | Path, size: int = 48, value: int | None = None) -> Path:
    """A 16-bit grayscale PNG (opens as ``I;16``): a 0..65535 ramp, or constant ``value``."""
    if value is None:
        array = np.linspace(0, 65535, size * size).reshape(size, size).astype(np.uint16)
    else:
        array = np.full((size, size), value, dtype=np.uint16)
    return write_image(path, Image.fromarray(array))


def write_exif_rotated_jpeg(path: str | Path, size: tuple[int, int] = (64, 32), orientation: int = 6) -> Path:
    """A JPEG stored ``size`` (w, h) with EXIF orientation ``orientation`` (6 = display rotated 90° CW).

    The stored left half is black, the right half white, so the displayed orientation is checkable.
    """
    width, height = size
    array = np.zeros((height, width, 3), np.uint8)
    array[:, width // 2 :] = 255
    exif = Image.Exif()
    exif[0x0112] = orientation
    return write_image(path, Image.fromarray(array), exif=exif.tobytes(), quality=95)


def write_truncated_jpeg(path: str | Path, size: int = 64, seed: int = 0, keep: float = 0.5) -> Path:
    """A JPEG cut after ``keep`` of its bytes (header intact, entropy-coded data missing)."""
    buffer = io.BytesIO()
    Image.fromarray(rgb_array(size, seed)).save(buffer, format="JPEG", quality=95)
    data = buffer.getvalue()
    path = _prepare(path)
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def write_zero_byte(path: str | Path) -> Path:
    """An empty file (e.g. ``broken.jpg``)."""
    path = _prepare(path)
    path.write_bytes(b"")
    return path


def write_not_an_image(path: str | Path, text: str = "this is not an image\n") -> Path:
    """A text file with an image extension (e.g. ``notes.png``)."""
    path = _prepare(path)
    path.write_text(text)
    return path


def write_bomb_png(path: str | Path, size: int = 64) -> Path:
    """A normal PNG meant for decompression-bomb tests: monkeypatch ``PIL.Image.MAX_IMAGE_PIXELS`` below
    ``size * size`` (e.g. ``size * size // 3`` so Pillow raises ``DecompressionBombError``)."""
    return write_rgb_png(path, size)


# Writers by kind name: good kinds decode (to RGB), bad kinds must be reported by validation.
GOOD_KINDS: dict[str, tuple[str, Callable[..., Path]]] = {
    "rgb_jpeg": (".jpg", write_rgb_jpeg),
    "rgb_png": (".png", write_rgb_png),
    "gray_png": (".png", write_gray_png),
    "rgba_png": (".png", write_rgba_png),
    "palette_png": (".png", write_palette_png),
    "cmyk_jpeg": (".jpg", write_cmyk_jpeg),
    "png16": (".png", write_png16),
    "exif_jpeg": (".jpg", write_exif_rotated_jpeg),
}
BAD_KINDS: dict[str, tuple[str, Callable[..., Path]]] = {
    "truncated_jpeg": (".jpg", write_truncated_jpeg),
    "zero_byte": (".jpg", write_zero_byte),
    "not_an_image": (".png", write_not_an_image),
}


def write_kind(folder: str | Path, kind: str, stem: str | None = None) -> Path:
    """Write one file of ``kind`` (a key of :data:`GOOD_KINDS` or :data:`BAD_KINDS`) into ``folder``."""
    extension, writer = {**GOOD_KINDS, **BAD_KINDS}[kind]
    return writer(Path(folder) / f"{stem or kind}{extension}")


def make_class_folder(
    folder: str | Path,
    counts: dict[str, int] | None = None,
    *,
    size: int = 32,
    ext: str = ".jpg",
    seed: int = 0,
    sources: Iterable[str] | None = None,
) -> Path:
    """Fill ``folder/<class>/`` with ``counts[class]`` good images (default 4 ``real`` + 4 ``fake``).

    Keys are folder names as written (``"REAL"``, ``"0_real"``, ``"ai"`` ...). With ``sources`` the images
    of each class are spread round-robin over ``<class>/<source>/`` sub-folders. Returns ``folder``.
    """
    folder = Path(folder)
    counts = {"real": 4, "fake": 4} if counts is None else counts
    source_list = list(sources or [])
    writer = write_rgb_jpeg if ext.lower() in (".jpg", ".jpeg") else write_rgb_png
    for class_index, (class_name, n) in enumerate(counts.items()):
        class_dir = folder / class_name
        class_dir.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            sub = class_dir / source_list[i % len(source_list)] if source_list else class_dir
            writer(sub / f"{class_name}_{i:04d}{ext}", size, seed=seed + 1000 * class_index + i)
    return folder


def make_split_layout(
    root: str | Path,
    splits: dict[str, dict[str, int]] | None = None,
    *,
    size: int = 32,
    ext: str = ".jpg",
) -> Path:
    """Layout (a): ``root/<split>/<class>/*`` (default train 8+8, valid 3+3, test 3+3). Returns ``root``."""
    root = Path(root)
    splits = splits or {
        "train": {"real": 8, "fake": 8},
        "valid": {"real": 3, "fake": 3},
        "test": {"real": 3, "fake": 3},
    }
    for index, (split, counts) in enumerate(splits.items()):
        make_class_folder(root / split, counts, size=size, ext=ext, seed=100_000 * (index + 1))
    return root


def make_kaggle_layout(
    outer: str | Path, per_class: dict[str, int] | None = None, *, size: int = 32
) -> tuple[Path, Path]:
    """Layout (b): ``outer/real_vs_fake/real-vs-fake/{train,valid,test}/{real,fake}`` plus Kaggle's CSVs.

    ``per_class`` gives images per class per split (default train 6, valid 3, test 3).
    Returns ``(outer, inner)``; both are valid sources.
    """
    outer = Path(outer)
    per_class = per_class or {"train": 6, "valid": 3, "test": 3}
    inner = outer / "real_vs_fake" / "real-vs-fake"
    make_split_layout(inner, {s: {"real": n, "fake": n} for s, n in per_class.items()}, size=size)
    for split in per_class:
        (outer / f"{split}.csv").write_text("id,label\n")  # the Kaggle download ships these beside the images
    return outer, inner


def make_disk_dataset(
    folder: str | Path,
    *,
    n_per_class: int = 6,
    label_style: str = "classlabel",
    image_column: str = "image",
    label_column: str = "label",
    splits: Iterable[str] = ("train",),
    size: int = 32,
    source_column: str | None = None,
) -> Path:
    """Layout (d): a ``save_to_disk`` folder with embedded PNG bytes.

    ``label_style``: ``"classlabel"`` (``ClassLabel(["fake", "real"])``, i.e. alphabetical, fake=0 as
    ``imagefolder`` would make it), ``"string"`` (``"REAL"`` / ``"ai"``) or ``"int"`` (0 real / 1 fake).
    Row ``i`` is real when ``i`` is even. Returns ``folder``.
    """
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
    from datasets import Image as ImageFeature

    def one_split(offset: int) -> Dataset:
        images, labels, sources = [], [], []
        for i in range(2 * n_per_class):
            buffer = io.BytesIO()
            Image.fromarray(rgb_array(size, seed=offset + i)).save(buffer, format="PNG")
            images.append({"bytes": buffer.getvalue(), "path": None})
            is_real = i % 2 == 0
            labels.append(
                {
                    "classlabel": 1 if is_real else 0,
                    "string": "REAL" if is_real else "ai",
                    "int": 0 if is_real else 1,
                }[label_style]
            )
            sources.append("camera" if is_real else f"gan{i % 3}")
        label_feature = {
            "classlabel": ClassLabel(names=["fake", "real"]),
            "string": Value("string"),
            "int": Value("int64"),
        }[label_style]
        columns = {image_column: images, label_column: labels}
        features = {image_column: ImageFeature(), label_column: label_feature}
        if source_column:
            columns[source_column] = sources
            features[source_column] = Value("string")
        return Dataset.from_dict(columns, features=Features(features))

    split_list = list(splits)
    data = DatasetDict({split: one_split(1000 * k) for k, split in enumerate(split_list)})
    target = data if len(split_list) > 1 else data[split_list[0]]
    target.save_to_disk(str(folder))
    return Path(folder)
