"""``load_detection_dataset``: any supported source -> ``DatasetDict(train, validation, test)``."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from datasets import Dataset, DatasetDict

from hf_aidetect.data.hub import (
    FEATURES,
    check_both_classes,
    dataset_cache_key,
    is_saved_dataset,
    load_hub,
    load_saved_or_local,
    map_splits,
    normalise_split,
    validate_split,
)
from hf_aidetect.data.layouts import FolderScan, SplitFiles, looks_like_image_folder, scan_folder
from hf_aidetect.data.report import BadImage, LoadReport, summarize_dataset
from hf_aidetect.data.splitting import carve_missing_splits
from hf_aidetect.data.validation import log_bad_images, validate_files
from hf_aidetect.errors import BadImageError, ConfigError, DatasetLayoutError

logger = logging.getLogger(__name__)

BadImagePolicy = Literal["skip", "error"]
Purpose = Literal["training", "evaluation"]


def load_detection_dataset(
    source: str | os.PathLike | Dataset | DatasetDict,
    *,
    validation_size: float | int = 0.1,
    test_size: float | int = 0.1,
    seed: int = 42,
    image_column: str = "image",
    label_column: str = "label",
    source_column: str | None = None,
    bad_images: BadImagePolicy = "skip",
    validate: bool = True,
    num_workers: int | None = None,
    return_report: bool = False,
    purpose: Purpose = "training",
    **hub_kwargs: Any,
) -> DatasetDict | tuple[DatasetDict, LoadReport]:
    """Load a real-vs-fake image dataset as ``DatasetDict`` with ``train``, ``validation`` and ``test``.

    ``source`` is a folder (``train/valid/test`` split folders of class folders, the Kaggle 140k
    ``real_vs_fake/real-vs-fake`` layout given the outer or inner folder, or just class folders), a
    ``save_to_disk`` folder, another local folder ``datasets.load_dataset`` understands, a Hub dataset id
    (``hub_kwargs`` go to ``load_dataset``: ``split``, ``revision``, ``token`` ...) or a ``Dataset`` /
    ``DatasetDict``. Features: ``image`` (lazy ``datasets.Image``), ``label`` (``ClassLabel(["real",
    "fake"])``), ``source`` (generator sub-folder or ``source_column``; ``""`` when unknown).

    Missing validation / test splits are carved out of train, stratified by label (``validation_size`` and
    ``test_size``: fractions of train, or counts). With ``validate`` every image is decode-checked up front
    (``num_workers`` parallel workers, default all cores); unreadable ones are skipped and logged
    (``bad_images="skip"``) or raise :class:`BadImageError` (``"error"``). The summary is logged at INFO;
    ``return_report=True`` also returns a :class:`LoadReport` (summary, skipped files, layout).
    Folder results are cached per file (size + mtime), so reloading an unchanged folder is quick.

    ``purpose="evaluation"`` loads a labelled set to score **whole**: nothing is carved, the splits found
    are returned as they are (a test-only split folder gives ``{"test"}``; plain class folders, a single
    ``Dataset`` or a one-split Hub dataset give ``{"test"}``), and a split may hold one class only.

    ``dataset[i]["image"]`` keeps the file's own mode (``datasets`` decodes it); the transforms in
    :mod:`hf_aidetect.data.transforms` and :func:`hf_aidetect.data.load_rgb` give RGB with EXIF orientation.
    """
    if bad_images not in ("skip", "error"):
        raise ConfigError(f"bad_images={bad_images!r} is invalid: use 'skip' or 'error'.")
    if purpose not in ("training", "evaluation"):
        raise ConfigError(f"purpose={purpose!r} is invalid: use 'training' or 'evaluation'.")
    evaluation = purpose == "evaluation"
    options = _Options(
        image_column, label_column, source_column, validate, num_workers, hub_kwargs, evaluation
    )
    if isinstance(source, (Dataset, DatasetDict)):
        splits, bad, layout, root = _from_datasets(source, "the given dataset", options)
    else:
        splits, bad, layout, root = _from_path_or_id(source, options)
    if bad and bad_images == "error":
        listing = "; ".join(str(item) for item in bad[:20])
        more = f" (and {len(bad) - 20} more)" if len(bad) > 20 else ""
        raise BadImageError(
            f"{len(bad)} unreadable image(s): {listing}{more}. Fix or delete them, or pass "
            "bad_images='skip' to leave them out."
        )
    log_bad_images(bad)
    for split, dataset in splits.items():
        check_both_classes(dataset, f"{split} split of {root}", one_class_ok=evaluation)
    carved: list[str] = []
    if not evaluation:
        splits, carved = carve_missing_splits(
            splits,
            validation_size=validation_size,
            test_size=test_size,
            seed=seed,
            where=f"train split of {root}",
        )
    dataset_dict = DatasetDict(splits)
    summary = summarize_dataset(dataset_dict)
    logger.info("Loaded %s (%s layout): %s", root, layout, summary)
    if not return_report:
        return dataset_dict
    return dataset_dict, LoadReport(summary, bad, layout=layout, root=root, carved_splits=carved)


@dataclass
class _Options:
    """The options the source-specific loaders need."""

    image_column: str
    label_column: str
    source_column: str | None
    validate: bool
    num_workers: int | None
    hub_kwargs: dict[str, Any]
    for_evaluation: bool = False


def _looks_like_path(text: str) -> bool:
    # Hub ids are "name" or "owner/name"; anything else with separators is meant as a local path.
    return text.startswith((".", "/", "~")) or "\\" in text or text.count("/") > 1 or os.path.isabs(text)


def _from_path_or_id(source: str | os.PathLike, options: _Options) -> tuple:
    path = Path(os.path.expanduser(os.fspath(source)))
    if path.is_dir():
        # A saved DatasetDict has train/ valid/ sub-folders too: check for its marker files first.
        if not is_saved_dataset(path) and looks_like_image_folder(path):
            return _from_folder(path, options)
        data = load_saved_or_local(path, options.hub_kwargs)
        return _from_datasets(data, str(path), options, layout="saved")
    if path.exists():
        raise DatasetLayoutError(f"{path} is a file; give the dataset folder (or a Hub dataset id).")
    text = os.fspath(source)
    if _looks_like_path(text):
        raise DatasetLayoutError(f"Dataset folder {path} does not exist; check the path.")
    return _from_datasets(load_hub(text, options.hub_kwargs), text, options, layout="hub")


def _from_datasets(
    data: Dataset | DatasetDict, origin: str, options: _Options, layout: str = "datasets"
) -> tuple[dict[str, Dataset], list[BadImage], str, str]:
    splits = {}
    bad: list[BadImage] = []
    for split, dataset in map_splits(data, origin, options.for_evaluation).items():
        normalised = normalise_split(
            dataset,
            image_column=options.image_column,
            label_column=options.label_column,
            source_column=options.source_column,
            origin=f"{split} split of {origin}",
        )
        if options.validate:
            key = dataset_cache_key(dataset, options.image_column)
            normalised, split_bad = validate_split(normalised, split, options.num_workers, key)
            bad.extend(split_bad)
        splits[split] = normalised
    return splits, bad, layout, origin


def _from_folder(folder: Path, options: _Options) -> tuple:
    scan: FolderScan = scan_folder(folder, for_evaluation=options.for_evaluation)
    if scan.ignored_files:
        logger.info(
            "Ignored %d non-image file(s) under %s, e.g. %s",
            len(scan.ignored_files),
            scan.root,
            scan.ignored_files[0],
        )
    bad: list[BadImage] = []
    if options.validate:
        every_path = [p for files in scan.splits.values() for p in files.paths]
        bad = validate_files(every_path, options.num_workers, cache_root=scan.root)
    bad_paths = {item.path for item in bad}
    splits = {split: _files_to_dataset(files, bad_paths) for split, files in scan.splits.items()}
    layout = "splits" if scan.layout == "splits" else "classes"
    return splits, bad, layout, scan.root


def _files_to_dataset(files: SplitFiles, skip: set[str]) -> Dataset:
    rows = [i for i, path in enumerate(files.paths) if path not in skip]
    return Dataset.from_dict(
        {
            "image": [files.paths[i] for i in rows],
            "label": [files.labels[i] for i in rows],
            "source": [files.sources[i] for i in rows],
        },
        features=FEATURES,
    )
