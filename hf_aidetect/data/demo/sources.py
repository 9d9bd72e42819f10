"""Real-image source for the demo data: random crops of photographs shipped inside installed dependencies.

Only photographs are used (scikit-learn's ``china.jpg`` / ``flower.jpg`` and matplotlib's
``grace_hopper.jpg``), never plots or logos, so the "real" class looks like camera output.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from hf_aidetect.errors import AIDetectError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourcePhoto:
    """One decoded source photograph (RGB, uint8 ``[H, W, 3]``)."""

    name: str
    pixels: np.ndarray


def _sklearn_photo_paths() -> list[Path]:
    import sklearn.datasets

    folder = Path(sklearn.datasets.__file__).parent / "images"
    return [folder / name for name in ("china.jpg", "flower.jpg")]


def _matplotlib_photo_paths() -> list[Path]:
    try:
        import matplotlib
    except ImportError:  # optional source: the sklearn photos suffice
        return []
    return [Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"]


def load_source_photos() -> list[SourcePhoto]:
    """Decode every available source photograph, in a fixed order (determinism depends on it)."""
    photos = []
    for path in [*_sklearn_photo_paths(), *_matplotlib_photo_paths()]:
        if not path.is_file():
            logger.warning("Demo-data source photo %s not found; using the others.", path)
            continue
        with Image.open(path) as image:
            photos.append(SourcePhoto(path.name, np.asarray(image.convert("RGB"), dtype=np.uint8)))
    if not photos:
        raise AIDetectError(
            "No source photographs found for the demo data (looked for scikit-learn's china.jpg / "
            "flower.jpg and matplotlib's grace_hopper.jpg). Reinstall it: pip install -U scikit-learn"
        )
    return photos


@dataclass(frozen=True)
class CropSpec:
    """Where a crop comes from: photo index, top-left corner, side length in source pixels, mirror flag."""

    photo: int
    top: int
    left: int
    side: int
    flip: bool


def _draw_spec(photo: int, shape: tuple[int, ...], min_side: int, rng: np.random.Generator) -> CropSpec:
    height, width = shape[:2]
    low = min(min_side, height, width)
    side = int(np.rint(np.exp(rng.uniform(np.log(low), np.log(min(height, width))))))
    top = int(rng.integers(height - side + 1))
    left = int(rng.integers(width - side + 1))
    return CropSpec(photo, top, left, side, bool(rng.random() < 0.5))


def render_crop(photos: list[SourcePhoto], spec: CropSpec, size: int) -> np.ndarray:
    """Cut one crop and resize it (Lanczos, i.e. anti-aliased) to ``size``; uint8 ``[size, size, 3]``."""
    patch = photos[spec.photo].pixels[spec.top : spec.top + spec.side, spec.left : spec.left + spec.side]
    image = Image.fromarray(patch)
    if spec.side != size:
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    if spec.flip:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return np.asarray(image)


def detail(crop: np.ndarray) -> float:
    """Mean absolute luminance gradient (0-255 scale): ~0 for sky or out-of-focus background."""
    luminance = crop.astype(np.float32).mean(axis=-1)
    return float((np.abs(np.diff(luminance, axis=0)).mean() + np.abs(np.diff(luminance, axis=1)).mean()) / 2)


def draw_crops(
    photos: list[SourcePhoto],
    count: int,
    size: int,
    rng: np.random.Generator,
    *,
    min_scale: float = 1.0,
    min_detail: float = 0.0,
    max_tries: int = 100,
) -> tuple[list[CropSpec], np.ndarray]:
    """Draw ``count`` square crops (side log-uniform in [min_scale * size, shorter edge], flip 50 %).

    ``min_scale`` > 1 means every crop is downsampled to ``size``, as camera photos usually are: crisp,
    unlike a native-resolution crop of an already JPEG-compressed photo.

    Photos are used in turn (not at random) so every class sees the same mix of photos. Crops with less
    texture than ``min_detail`` are redrawn: a re-synthesised flat patch is indistinguishable from a real
    one, so keeping them would only add label noise.
    """
    specs: list[CropSpec] = []
    crops = np.empty((count, size, size, 3), dtype=np.uint8)
    offset = int(rng.integers(len(photos)))
    for i in range(count):
        photo = (offset + i) % len(photos)
        for _ in range(max_tries):
            spec = _draw_spec(photo, photos[photo].pixels.shape, round(min_scale * size), rng)
            crop = render_crop(photos, spec, size)
            if detail(crop) >= min_detail:
                break
        specs.append(spec)
        crops[i] = crop
    return specs, crops


def matched_halves(
    specs: list[CropSpec], crops: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split crops into two disjoint, matched halves (indices): pairs of neighbours by (photo, brightness).

    Sorting by photo and mean brightness, then sending one crop of each neighbouring pair to each half at
    random, gives both classes nearly the same photo mix and brightness distribution, so mean intensity
    cannot stand in for the label.
    """
    brightness = crops.reshape(len(crops), -1).mean(axis=1)
    order = sorted(range(len(specs)), key=lambda i: (specs[i].photo, float(brightness[i])))
    first, second = [], []
    for start in range(0, len(order) - 1, 2):
        a, b = order[start], order[start + 1]
        if rng.random() < 0.5:
            a, b = b, a
        first.append(a)
        second.append(b)
    # Shuffle within each half so file numbers do not follow photo / brightness order.
    return rng.permutation(np.asarray(first)), rng.permutation(np.asarray(second))
