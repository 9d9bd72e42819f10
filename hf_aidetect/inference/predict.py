"""Batched prediction over image files, with decoding overlapped with the model's forward pass.

Files are cut into batches; a ``torch.utils.data.DataLoader`` with worker processes decodes and
preprocesses upcoming batches (the data layer's eval transform: RGB + EXIF orientation, center crop and
resize in one PIL call, JPEG draft decoding; no per-image HF processor)
while the main process runs the model on the current one. A file that cannot be read or decoded becomes
a row with an ``error`` reason instead of stopping the run. Rows come back in input order.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from hf_aidetect.data.loader import cpu_threads_beside
from hf_aidetect.data.workers import loader_workers
from hf_aidetect.errors import BadImageError
from hf_aidetect.inference.loading import Detector

logger = logging.getLogger(__name__)


@dataclass
class PredictionRow:
    """One output row: ``label`` is ``"fake"`` iff ``fake_score >= threshold``; errors leave both empty.

    With ``predict --unsure`` (:mod:`~hf_aidetect.inference.unsure`) ``label`` may be ``"unsure"``;
    ``decision`` then keeps the threshold's answer and ``unsure_reason`` says why.
    """

    path: str
    label: str | None
    fake_score: float | None
    error: str = ""
    decision: str | None = None
    unsure_reason: str | None = None

    def to_dict(self) -> dict[str, str | float | None]:
        row = {"path": self.path, "label": self.label, "fake_score": self.fake_score, "error": self.error}
        if self.unsure_reason is not None:
            row.update(decision=self.decision, unsure_reason=self.unsure_reason)
        return row


def describe_error(path: str | Path, error: BaseException) -> str:
    """A short reason a user understands for why ``path`` could not be used as an image."""
    while isinstance(error, BadImageError) and error.__cause__ is not None:
        error = error.__cause__  # the transform wraps decoder errors; the original says more
    if isinstance(error, FileNotFoundError):
        return "file not found"
    if isinstance(error, PermissionError):
        return "permission denied: the file cannot be read"
    if isinstance(error, IsADirectoryError):
        return "is a folder, not a file"
    try:
        if os.path.getsize(path) == 0:
            return "empty file (0 bytes)"
    except OSError:
        pass
    if isinstance(error, UnidentifiedImageError):
        return "not an image: PIL cannot identify the file format"
    if isinstance(error, Image.DecompressionBombError):
        return f"image too large to decode safely: {error}"
    message = str(error).strip() or type(error).__name__
    if "truncated" in message.lower() or isinstance(error, (SyntaxError, EOFError)):
        return f"truncated or corrupt image data: {message}"
    return f"cannot decode image ({type(error).__name__}): {message}"


class _FileBatches(Dataset):
    """Item ``i`` is batch ``i`` of the file list, decoded and preprocessed (runs in loader workers).

    The whole batch of paths goes through the eval transform in one call (JPEGs decode at reduced size
    via ``draft``); only when that fails are the files retried one by one to find the bad ones.
    """

    def __init__(self, paths: Sequence[Path], batch_size: int, transform: Callable[[dict], dict]) -> None:
        self.paths = [str(path) for path in paths]
        self.batch_size = batch_size
        self.transform = transform

    def __len__(self) -> int:
        return (len(self.paths) + self.batch_size - 1) // self.batch_size

    def __getitem__(self, index: int) -> dict:
        start = index * self.batch_size
        positions = list(range(start, min(start + self.batch_size, len(self.paths))))
        errors: dict[int, str] = {}
        try:
            pixels: torch.Tensor | None = self.transform({"image": [self.paths[i] for i in positions]})[
                "pixel_values"
            ]
            good = positions
        except Exception:
            good, tensors = [], []
            for position in positions:
                try:
                    tensors.append(self.transform({"image": [self.paths[position]]})["pixel_values"][0])
                    good.append(position)
                except Exception as error:  # one bad file must not stop the others
                    errors[position] = describe_error(self.paths[position], error)
            pixels = torch.stack(tensors) if tensors else None
        return {
            "start": start,
            "stop": start + len(positions),
            "good": good,
            "pixels": pixels,
            "errors": errors,
        }


def decode_workers(num_files: int, batch_size: int, device_type: str = "cpu") -> int:
    """Decode processes for ``num_files`` in batches of ``batch_size``
    (:func:`hf_aidetect.data.workers.loader_workers`: none for a single batch)."""
    return loader_workers(device_type, batches=-(-num_files // max(1, batch_size)))


def predict_files(
    detector: Detector,
    paths: Sequence[str | Path],
    *,
    threshold: float = 0.5,
    batch_size: int = 32,
    num_workers: int | None = None,
    progress: bool = True,
) -> Iterator[PredictionRow]:
    """Yield exactly one :class:`PredictionRow` per path, in input order, as batches finish."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    workers = num_workers
    if workers is None:
        workers = decode_workers(len(paths), batch_size, detector.device.type)
    dataset = _FileBatches([Path(p) for p in paths], batch_size, detector.transform)
    loader = DataLoader(
        dataset,
        batch_size=None,
        num_workers=workers,
        pin_memory=detector.device.type == "cuda",
        prefetch_factor=4 if workers else None,
    )
    logger.debug("Predicting %d files, batches of %d, %d decode workers", len(paths), batch_size, workers)
    names = dataset.paths
    bar = tqdm(total=len(paths), unit="img", desc="predict", disable=not progress, dynamic_ncols=True)
    with bar, cpu_threads_beside(workers, detector.device):
        for batch in loader:
            scores = detector.fake_scores(batch["pixels"]) if batch["pixels"] is not None else []
            by_position = dict(zip(batch["good"], scores))
            for position in range(batch["start"], batch["stop"]):
                if position in by_position:
                    score = float(by_position[position])
                    label = "fake" if score >= threshold else "real"
                    yield PredictionRow(names[position], label, score)
                else:
                    reason = batch["errors"].get(position, "unknown error")
                    yield PredictionRow(names[position], None, None, reason)
            bar.update(batch["stop"] - batch["start"])
