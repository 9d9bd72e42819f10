"""Source photographs of the quality suite: camera photos shipped inside the scikit-image wheel.

Other photos than the demo's (scikit-learn's china / flower, matplotlib's grace_hopper), so a recipe tuned
on the demo meets new content here. Only files the wheel itself contains are used (``skimage.data`` fetches
others on demand over the network, which must never happen here), only colour photographs (no microscopy,
telescope, retina or synthetic images), and only one of the two motorcycle stereo views.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from hf_aidetect.data.demo.sources import SourcePhoto

# (file in skimage/data/, width x height): all RGB camera photos, shorter side 300-512 px.
SUITE_PHOTOS: tuple[str, ...] = (
    "astronaut.png",  # 512 x 512
    "chelsea.png",  # 451 x 300
    "coffee.png",  # 600 x 400
    "rocket.jpg",  # 640 x 427
    "motorcycle_left.png",  # 741 x 500
)


class MissingPhotosError(RuntimeError):
    """The suite's photographs are not installed."""


def photo_folder() -> Path:
    """``skimage/data`` of the installed scikit-image (found without importing all of skimage)."""
    import importlib.util

    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        raise MissingPhotosError(
            "The quality suite's source photos come from scikit-image, which is not installed; "
            'run: pip install -e ".[bench]"'
        )
    return Path(spec.origin).parent / "data"


def load_suite_photos() -> list[SourcePhoto]:
    """Decode every suite photograph as RGB uint8, in the fixed order of :data:`SUITE_PHOTOS`."""
    folder = photo_folder()
    missing = [name for name in SUITE_PHOTOS if not (folder / name).is_file()]
    if missing:
        raise MissingPhotosError(
            f"{folder} lacks {', '.join(missing)}; reinstall scikit-image (pip install -U scikit-image)."
        )
    photos = []
    for name in SUITE_PHOTOS:
        with Image.open(folder / name) as image:
            photos.append(SourcePhoto(name, np.asarray(image.convert("RGB"), dtype=np.uint8)))
    return photos
