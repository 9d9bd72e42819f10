"""Write the demo dataset in the Kaggle "140k real and fake faces" layout, deterministically."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from hf_aidetect.data.demo.card import render_card
from hf_aidetect.data.demo.generator import deterministic_torch, synthesize, train_generator
from hf_aidetect.data.demo.options import GENERATOR_FACTOR, KAGGLE_SUBDIR, SPLITS, DemoDataOptions
from hf_aidetect.data.demo.sources import draw_crops, load_source_photos, matched_halves
from hf_aidetect.errors import AIDetectError, ConfigError, OutputError
from hf_aidetect.files import atomic_directory, atomic_write_text, check_writable_folder, describe_os_error

logger = logging.getLogger(__name__)


def _resolve_options(options: DemoDataOptions | None, overrides: dict[str, Any]) -> DemoDataOptions:
    try:
        resolved = dataclasses.replace(options or DemoDataOptions(), **overrides)
    except TypeError as error:
        names = ", ".join(field.name for field in dataclasses.fields(DemoDataOptions))
        raise ConfigError(f"Unknown demo-data option ({error}); valid options: {names}.") from None
    resolved.validate()
    return resolved


def save_image(pixels: np.ndarray, path: Path, options: DemoDataOptions) -> None:
    """Save one RGB uint8 image; both classes go through here so format/quality carry no label."""
    image = Image.fromarray(pixels, mode="RGB")
    if options.image_format == "jpg":
        image.save(path, format="JPEG", quality=options.quality, subsampling="4:2:0", optimize=False)
    else:
        image.save(path, format="PNG", compress_level=6, optimize=False)


def _save_or_fail(pixels: np.ndarray, path: Path, options: DemoDataOptions, final: Path) -> None:
    try:
        save_image(pixels, path, options)
    except OSError as error:  # e.g. a full disk: the partial folder is removed, the old data kept
        raise OutputError(
            f"cannot write the demo data to {final}: {describe_os_error(error)}; nothing was changed there"
        ) from error


def _check_target(out_dir: Path, overwrite: bool) -> None:
    """Before generating anything: OUT_DIR must be a folder we can write, and not hold demo data already
    (unless ``overwrite``)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise AIDetectError(f"OUT_DIR {out_dir} is a file; choose a folder path.")
    owned = [out_dir / KAGGLE_SUBDIR.parts[0], out_dir / "README.md"]
    existing = [path for path in owned if path.exists()]
    if existing and not overwrite:
        raise AIDetectError(
            f"{existing[0]} already exists; pass --overwrite (overwrite=True) to replace the demo data, "
            "or choose an empty OUT_DIR."
        )
    check_writable_folder(out_dir, flag="OUT_DIR", shown=out_dir)


def _generate(options: DemoDataOptions) -> dict[str, dict[str, np.ndarray]]:
    """Return ``{split: {"real": pixels, "fake": pixels}}``, all crops drawn from one seeded stream."""
    photos = load_source_photos()
    rng = np.random.default_rng(options.seed)
    size = options.image_size
    # One stream, fixed draw order: generator-training crops, then per split a pool of 2n crops split into
    # matched real / fake-source halves. Every image comes from its own draw, so the sets are disjoint.
    crop_kwargs = {"min_scale": options.min_crop_scale, "min_detail": options.min_detail}
    _, train_crops = draw_crops(photos, options.generator_crops, size, rng, **crop_kwargs)
    halves = {}
    for split in SPLITS:
        specs, crops = draw_crops(photos, 2 * options.per_class(split), size, rng, **crop_kwargs)
        real, fake = matched_halves(specs, crops, rng)
        halves[split] = (crops[real], crops[fake])
    with deterministic_torch(options.seed, options.num_threads):
        model = train_generator(
            train_crops,
            steps=options.generator_steps,
            factor=GENERATOR_FACTOR,
            width=options.generator_width,
        )
        return {
            split: {"real": real, "fake": synthesize(model, fake)} for split, (real, fake) in halves.items()
        }


def write_demo_dataset(
    out_dir: str | Path, options: DemoDataOptions | None = None, *, overwrite: bool = False, **overrides: Any
) -> Path:
    """Write the demo dataset under ``out_dir``; returns ``out_dir`` (for ``load_detection_dataset``).

    Layout: ``out_dir/real_vs_fake/real-vs-fake/{train,valid,test}/{real,fake}/NNNNN.<format>`` plus a
    dataset card ``out_dir/README.md``. Keyword ``overrides`` replace fields of ``options``
    (:class:`DemoDataOptions`), e.g. ``write_demo_dataset(d, seed=1, image_size=32)``.
    """
    options = _resolve_options(options, overrides)
    out_dir = Path(out_dir)
    _check_target(out_dir, overwrite)
    started = time.perf_counter()
    images = _generate(options)
    # Built under a temporary name and renamed at the end (the old copy goes only once the new one is in
    # place), so an interrupted run or a full disk never leaves half a dataset.
    final = out_dir / KAGGLE_SUBDIR.parts[0]
    with atomic_directory(final, replace=True) as partial:
        for split, classes in images.items():
            for label, pixels in classes.items():
                folder = partial / KAGGLE_SUBDIR.relative_to(KAGGLE_SUBDIR.parts[0]) / split / label
                folder.mkdir(parents=True)
                for index, image in enumerate(pixels):
                    _save_or_fail(image, folder / f"{index:05d}.{options.image_format}", options, final)
    counts = {split: {label: len(p) for label, p in classes.items()} for split, classes in images.items()}
    atomic_write_text(out_dir / "README.md", render_card(options, counts))
    total = sum(n for classes in counts.values() for n in classes.values())
    logger.info(
        "Wrote %d demo images (%dx%d %s) to %s in %.1f s.",
        total, options.image_size, options.image_size, options.image_format, final / KAGGLE_SUBDIR.parts[1],
        time.perf_counter() - started,
    )  # fmt: skip
    return out_dir
