"""What ``hf-aidetect export`` proves before it keeps a graph: parity with PyTorch, and int8's accuracy cost.

* **Parity**: 32 images go through the one evaluation transform (:attr:`Detector.transform`); PyTorch
  scores them in one batch, onnxruntime in one batch of 32 and in 32 batches of 1 (the dynamic batch axis
  at both ends). The proof holds when the largest ``|P_torch(fake) - P_onnx(fake)|`` is below
  :data:`PARITY_TOLERANCE` and every label at the model's threshold is the same.
* **Quantisation**: the int8 graph and the float graph score a labelled set; accuracy, ROC-AUC, label
  agreement and the largest score change are measured, never assumed.

The images are 32 rows of ``--check-data`` (half real, half fake when it has both), else 32 seeded
synthetic pictures at sizes below, at and above the input side, so the zero-padding and cropping paths of
the transform are both exercised.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from datasets import Dataset
from datasets import Image as ImageFeature
from PIL import Image

from hf_aidetect.deploy.onnx_detector import OnnxDetector, onnx_size
from hf_aidetect.errors import AIDetectError
from hf_aidetect.inference.loading import Detector

logger = logging.getLogger(__name__)

PARITY_IMAGES = 32
PARITY_TOLERANCE = 1e-4


@dataclass
class ParityProof:
    """The numbers behind "ONNX gives PyTorch's answers"."""

    num_images: int
    images: str
    batch_sizes: list[int]
    threshold: float
    max_abs_diff: float
    mean_abs_diff: float
    labels_identical: bool
    tolerance: float = PARITY_TOLERANCE

    @property
    def passed(self) -> bool:
        return self.max_abs_diff < self.tolerance and self.labels_identical

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}

    def summary(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"parity {verdict}: {self.num_images} images ({self.images}), max |dP(fake)| = "
            f"{self.max_abs_diff:.2e} (< {self.tolerance:g} required), labels "
            f"{'identical' if self.labels_identical else 'DIFFER'} at threshold {self.threshold:.4f}"
        )


@dataclass
class QuantizationCheck:
    """The int8 graph against the float graph on a labelled set."""

    data: str
    num_images: int
    num_real: int
    num_fake: int
    threshold: float
    accuracy_float: float
    accuracy_int8: float
    roc_auc_float: float | None
    roc_auc_int8: float | None
    label_agreement: float
    max_abs_diff: float
    size_bytes_float: int
    size_bytes_int8: int

    @property
    def accuracy_change(self) -> float:
        return self.accuracy_int8 - self.accuracy_float

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "accuracy_change": self.accuracy_change}

    def summary(self) -> str:
        auc = ""
        if self.roc_auc_float is not None and self.roc_auc_int8 is not None:
            auc = f", ROC-AUC {self.roc_auc_float:.4f} -> {self.roc_auc_int8:.4f}"
        return (
            f"int8 on {self.num_images} images of {self.data} ({self.num_real} real / {self.num_fake} fake): "
            f"accuracy {self.accuracy_float:.4f} -> {self.accuracy_int8:.4f} "
            f"({100 * self.accuracy_change:+.2f} points){auc}; labels agree on "
            f"{100 * self.label_agreement:.2f}%, max |dP(fake)| = {self.max_abs_diff:.3g}; "
            f"{self.size_bytes_float / 1e6:.2f} MB -> {self.size_bytes_int8 / 1e6:.2f} MB"
        )


def synthetic_images(side: int, count: int = PARITY_IMAGES, seed: int = 0) -> list[Image.Image]:
    """``count`` seeded gradient-plus-noise RGB pictures, from half to 1.5x ``side``, some not square."""
    rng = np.random.default_rng(seed)
    shapes = [(side, side), (side // 2 + 1, side // 2 + 3), (side + side // 3, side + side // 5),
              (side + 7, max(1, side - 5)), (max(1, side - 9), side + 11)]  # fmt: skip
    images = []
    for index in range(count):
        width, height = shapes[index % len(shapes)]
        y, x = np.mgrid[0:height, 0:width]
        base = np.stack([x * 255 / max(width - 1, 1), y * 255 / max(height - 1, 1), (x * y) % 256], -1)
        noise = rng.normal(0, 12 + 4 * (index % 7), size=(height, width, 3))
        images.append(Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)))
    return images


def sample_rows(dataset: Dataset, count: int = PARITY_IMAGES, seed: int = 0) -> Dataset:
    """``count`` seeded rows of ``dataset``, half of each class where it has enough of both."""
    labels = np.asarray(dataset["label"], dtype=int)
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for value in (0, 1):
        pool = np.flatnonzero(labels == value)
        chosen += rng.permutation(pool)[: count // 2].tolist()
    rest = rng.permutation(np.setdiff1d(np.arange(len(labels)), chosen))
    chosen += rest[: max(0, count - len(chosen))].tolist()
    return dataset.select(sorted(chosen))


def undecoded_images(dataset: Dataset) -> list[dict]:
    """The ``image`` column as ``{"path", "bytes"}`` dicts: the transform decodes them itself."""
    return dataset.cast_column("image", ImageFeature(decode=False))["image"]


def prove_parity(
    detector: Detector,
    onnx_detector: OnnxDetector,
    images: list[Any],
    *,
    description: str,
    threshold: float,
) -> ParityProof:
    """Score ``images`` with both backends through ``detector.transform`` and compare (module doc)."""
    pixels = detector.transform({"image": images})["pixel_values"]
    reference = detector.fake_scores(pixels)
    batched = onnx_detector.fake_scores(pixels)
    single = np.concatenate([onnx_detector.fake_scores(pixels[i : i + 1]) for i in range(len(pixels))])
    diffs = np.abs(np.stack([batched, single]) - reference[None])
    labels = reference >= threshold
    same = bool(np.array_equal(batched >= threshold, labels) and np.array_equal(single >= threshold, labels))
    return ParityProof(
        num_images=len(images),
        images=description,
        batch_sizes=[len(images), 1],
        threshold=threshold,
        max_abs_diff=float(diffs.max()),
        mean_abs_diff=float(diffs.mean()),
        labels_identical=same,
    )


def _roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores)) if len(set(labels.tolist())) == 2 else None


def check_quantization(
    float_detector: OnnxDetector,
    int8_detector: OnnxDetector,
    dataset: Dataset,
    *,
    data_name: str,
    threshold: float,
    score_kwargs: dict[str, Any],
) -> QuantizationCheck:
    """Accuracy (and more) of the int8 graph against the float graph on the labelled ``dataset``."""
    from hf_aidetect.inference.scoring import dataset_labels, score_dataset

    if len(dataset) == 0:
        raise AIDetectError(f"--check-data {data_name} has no images to measure the int8 model on")
    labels = dataset_labels(dataset)
    scores_float = score_dataset(float_detector, dataset, desc="float", **score_kwargs)
    scores_int8 = score_dataset(int8_detector, dataset, desc="int8", **score_kwargs)
    decided_float, decided_int8 = scores_float >= threshold, scores_int8 >= threshold
    return QuantizationCheck(
        data=data_name,
        num_images=len(labels),
        num_real=int((labels == 0).sum()),
        num_fake=int((labels == 1).sum()),
        threshold=threshold,
        accuracy_float=float((decided_float == labels.astype(bool)).mean()),
        accuracy_int8=float((decided_int8 == labels.astype(bool)).mean()),
        roc_auc_float=_roc_auc(labels, scores_float),
        roc_auc_int8=_roc_auc(labels, scores_int8),
        label_agreement=float((decided_float == decided_int8).mean()),
        max_abs_diff=float(np.abs(scores_float - scores_int8).max()),
        size_bytes_float=onnx_size(float_detector.onnx_path),
        size_bytes_int8=onnx_size(int8_detector.onnx_path),
    )
