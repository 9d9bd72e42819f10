"""P(fake) for every row of a ``datasets`` split, optionally after a test-time perturbation.

Batches are decoded and preprocessed in DataLoader workers (``Dataset.with_transform`` with the data
layer's eval transform, one call per batch) while the main process runs the model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from datasets import Dataset
from datasets import Image as ImageFeature
from PIL import Image
from torch.utils.data import BatchSampler, DataLoader, SequentialSampler
from tqdm.auto import tqdm

from hf_aidetect.data.loader import cpu_threads_beside
from hf_aidetect.inference.loading import Detector
from hf_aidetect.inference.predict import decode_workers

logger = logging.getLogger(__name__)


def _batch_transform(
    transform: Callable[[dict], dict], perturbation: Callable[[Image.Image], Image.Image] | None
) -> Callable[[dict], dict]:
    from hf_aidetect.data.images import load_rgb

    def apply(batch: dict) -> dict:
        images = batch["image"]  # undecoded {"path", "bytes"}: the transform decodes (with JPEG draft)
        if perturbation is not None:
            images = [perturbation(load_rgb(image)) for image in images]
        return {"pixel_values": transform({"image": images})["pixel_values"]}

    return apply


def dataset_labels(dataset: Dataset, column: str = "label") -> np.ndarray:
    """The label column as an int numpy array (0 = real, 1 = fake)."""
    return np.asarray(dataset.with_format("numpy")[column], dtype=int)


def score_dataset(
    detector: Detector,
    dataset: Dataset,
    *,
    perturbation: Callable[[Image.Image], Image.Image] | None = None,
    batch_size: int = 32,
    num_workers: int | None = None,
    progress: bool = False,
    desc: str = "score",
) -> np.ndarray:
    """P(fake) for each row of ``dataset`` (its ``image`` column), in row order, as float64."""
    if len(dataset) == 0:
        return np.zeros(0, dtype=float)
    undecoded = dataset.select_columns(["image"]).cast_column("image", ImageFeature(decode=False))
    images = undecoded.with_transform(_batch_transform(detector.transform, perturbation))
    workers = num_workers
    if workers is None:
        workers = decode_workers(len(dataset), batch_size, detector.device.type)
    loader = DataLoader(
        images,
        batch_size=None,
        sampler=BatchSampler(SequentialSampler(range(len(dataset))), batch_size, drop_last=False),
        num_workers=workers,
        pin_memory=detector.device.type == "cuda",
    )
    scores = []
    bar = tqdm(total=len(dataset), unit="img", desc=desc, disable=not progress, leave=False)
    with bar, cpu_threads_beside(workers, detector.device):
        for batch in loader:
            scores.append(detector.fake_scores(batch["pixel_values"]))
            bar.update(len(scores[-1]))
    return np.concatenate(scores)
