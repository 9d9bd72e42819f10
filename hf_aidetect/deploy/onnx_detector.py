"""An exported ONNX folder as a detector: the same preprocessing, rows and threshold as the PyTorch path.

:class:`OnnxDetector` has the attributes :func:`~hf_aidetect.inference.predict.predict_files`,
:func:`~hf_aidetect.inference.scoring.score_dataset`, ``evaluate`` and ``predict --unsure`` use of a
:class:`~hf_aidetect.inference.loading.Detector` (``transform``, ``fake_index``, ``config``, ``device``,
``fake_scores``, ``with_crops``), so every one of them runs through onnxruntime unchanged. Only the
explanation heatmaps need the PyTorch weights (they take gradients).

The folder is what ``hf-aidetect export`` writes: ``model.onnx`` (input ``pixel_values``, float32
``[batch, 3, S, S]``, normalised; output ``logits`` ``[batch, num_labels]``), ``config.json`` (labels,
operating point) and ``preprocessor_config.json`` (the evaluation transform is rebuilt from it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from hf_aidetect.data.preprocessing import ImageTransform
from hf_aidetect.errors import AIDetectError
from hf_aidetect.files.layout import CONFIG, EXPORT_REPORT, ONNX_DIR, ONNX_MODEL, PREPROCESSOR_CONFIG
from hf_aidetect.inference.loading import eval_transform_for, fake_index

if TYPE_CHECKING:
    import onnxruntime
    from transformers import PretrainedConfig
    from transformers.image_processing_utils import BaseImageProcessor

logger = logging.getLogger(__name__)

INPUT_NAME, OUTPUT_NAME = "pixel_values", "logits"
INSTALL_HINT = "install the ONNX extras: pip install 'hf_aidetect[export]'"


def require_onnxruntime() -> None:
    """Raise a one-line error naming the extra to install when onnxruntime is missing."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError as error:
        raise AIDetectError(f"the onnx backend needs onnxruntime: {INSTALL_HINT}") from error


def softmax_fake(logits: np.ndarray, index: int) -> np.ndarray:
    """P(fake) from logits, in float64 (float32 saturates at 1 for margins above ~17)."""
    values = np.asarray(logits, dtype=np.float64)
    values = values - values.max(axis=-1, keepdims=True)
    exp = np.exp(values)
    return exp[:, index] / exp.sum(axis=-1)


def onnx_size(path: str | Path) -> int:
    """Bytes of an ONNX graph, its external weights file (``<name>.data``) included."""
    path = Path(path)
    data = path.with_name(path.name + ".data")
    return path.stat().st_size + (data.stat().st_size if data.is_file() else 0)


def create_session(path: str | Path, threads: int | None = None) -> onnxruntime.InferenceSession:
    """A CPU onnxruntime session for ``path`` (``threads``: intra-op threads, default onnxruntime's)."""
    require_onnxruntime()
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initialisers etc. are not the user's business
    if threads:
        options.intra_op_num_threads = threads
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for corrupt / foreign files
        raise AIDetectError(f"onnxruntime cannot load {path} ({str(error).strip()[:300]})") from error


@dataclass
class OnnxDetector:
    """An onnxruntime session plus everything prediction needs (see the module doc)."""

    session: onnxruntime.InferenceSession
    config: PretrainedConfig
    image_processor: BaseImageProcessor
    transform: ImageTransform
    fake_index: int
    onnx_path: Path
    local_dir: Path | None = None
    device: torch.device = torch.device("cpu")  # noqa: RUF009  (torch.device is immutable)

    def with_crops(self, crops: int) -> OnnxDetector:
        """The same detector scoring the mean logits of ``crops`` native-resolution windows per image."""
        return replace(self, transform=eval_transform_for(self.image_processor, crops=crops))

    def logits(self, pixel_values: torch.Tensor | np.ndarray) -> np.ndarray:
        """Raw logits ``[N, num_labels]`` (float32) for a preprocessed ``[N, 3, S, S]`` batch."""
        array = pixel_values.numpy() if isinstance(pixel_values, torch.Tensor) else pixel_values
        feed = {INPUT_NAME: np.ascontiguousarray(array, dtype=np.float32)}
        return self.session.run([OUTPUT_NAME], feed)[0]

    def fake_scores(self, pixel_values: torch.Tensor | np.ndarray) -> np.ndarray:
        """P(fake) per image as float64; a multi-crop batch ``[B, k, 3, S, S]`` averages its k logits."""
        crops = pixel_values.shape[1] if pixel_values.ndim == 5 else 0
        flat = pixel_values.reshape(-1, *pixel_values.shape[2:]) if crops else pixel_values
        logits = self.logits(flat)
        if crops:
            logits = logits.reshape(-1, crops, logits.shape[-1]).mean(axis=1)
        return softmax_fake(logits, self.fake_index)


def find_onnx_folder(folder: Path, onnx_file: str = ONNX_MODEL) -> Path:
    """The folder holding ``onnx_file``: ``folder`` itself (an export) or ``folder/onnx`` (a model folder)."""
    for candidate in (folder, folder / ONNX_DIR):
        if (candidate / onnx_file).is_file():
            return candidate
    raise AIDetectError(
        f"no {onnx_file} in {folder} nor in {folder / ONNX_DIR}: export the model first "
        f"(hf-aidetect export {folder} --format onnx) or pass the folder the export wrote"
    )


def _download(repo_id: str, revision: str | None, onnx_file: str) -> Path:
    """The ONNX files of a Hub repo (top level or ``onnx/``) in the local cache."""
    from huggingface_hub import snapshot_download

    patterns = [onnx_file, f"{onnx_file}.data", CONFIG, PREPROCESSOR_CONFIG, EXPORT_REPORT]
    patterns += [f"{ONNX_DIR}/{pattern}" for pattern in patterns]
    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=patterns))
    except Exception as error:
        raise AIDetectError(
            f"cannot download the ONNX files of {repo_id!r} ({str(error).strip()[:200]}); pass a local "
            "export folder, or check the id, HF_TOKEN and HF_ENDPOINT"
        ) from error


def resolve_onnx_folder(model: str | Path, onnx_file: str = ONNX_MODEL, revision: str | None = None) -> Path:
    """A local folder, or a Hub id (downloaded), to the folder that holds ``onnx_file`` and its configs."""
    path = Path(model).expanduser()
    if path.is_file():
        if path.suffix == ".onnx":
            raise AIDetectError(f"MODEL {path} is a file; pass the folder that holds it (and config.json)")
        raise AIDetectError(f"MODEL {path} is a file; pass an ONNX export folder or a model folder")
    if path.is_dir():
        return find_onnx_folder(path, onnx_file)
    name = str(model)
    if path.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1:
        raise AIDetectError(f"model folder {path} does not exist; pass an ONNX export folder or a Hub id")
    return find_onnx_folder(_download(name, revision, onnx_file), onnx_file)


def load_onnx_detector(
    model: str | Path,
    *,
    onnx_file: str = ONNX_MODEL,
    revision: str | None = None,
    threads: int | None = None,
) -> OnnxDetector:
    """Load an export folder (or a model folder / Hub repo with an ``onnx/`` export) for onnxruntime."""
    from transformers import AutoImageProcessor, PretrainedConfig

    require_onnxruntime()
    folder = resolve_onnx_folder(model, onnx_file, revision)
    missing = [name for name in (CONFIG, PREPROCESSOR_CONFIG) if not (folder / name).is_file()]
    if missing:
        raise AIDetectError(
            f"{folder} has {onnx_file} but no {' / '.join(missing)}: re-export with hf-aidetect export "
            "(it copies the model's config and image processor beside the graph)"
        )
    # A plain config: the export needs labels and the operating point, never the architecture's code.
    config = PretrainedConfig.from_json_file(str(folder / CONFIG))
    image_processor = AutoImageProcessor.from_pretrained(str(folder))
    session = create_session(folder / onnx_file, threads=threads)
    names = ([i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()])
    if INPUT_NAME not in names[0] or OUTPUT_NAME not in names[1]:
        raise AIDetectError(
            f"{folder / onnx_file} takes {names[0]} and returns {names[1]}; hf_aidetect expects "
            f"{INPUT_NAME!r} -> {OUTPUT_NAME!r} (graphs written by hf-aidetect export)"
        )
    logger.debug("Loaded %s with onnxruntime (%s threads)", folder / onnx_file, threads or "default")
    return OnnxDetector(
        session=session,
        config=config,
        image_processor=image_processor,
        transform=eval_transform_for(image_processor),
        fake_index=fake_index(config),
        onnx_path=folder / onnx_file,
        local_dir=folder,
    )
