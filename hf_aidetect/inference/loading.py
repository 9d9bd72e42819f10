"""Load a detector (local folder or Hub id), pick the device, and find which logit means "fake"."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hf_aidetect.data.labels import FAKE, canonical_label
from hf_aidetect.data.preprocessing import ImageTransform
from hf_aidetect.errors import AIDetectError, ConfigError
from hf_aidetect.files.layout import CONFIG
from hf_aidetect.models.integrity import verify_model_folder

logger = logging.getLogger(__name__)


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``auto`` (or ``None``) means CUDA when available, else CPU; anything else is passed to torch."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ConfigError(f"--device {device!r} is not a torch device (try auto, cpu, cuda)") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {device} asked for CUDA but torch sees no GPU; use --device cpu")
    return resolved


def fake_index(config: Any) -> int:
    """Index of the "fake" logit, read from ``config.label2id`` (then ``id2label``) via the label aliases."""
    label2id = getattr(config, "label2id", None) or {}
    for name, index in label2id.items():
        if canonical_label(str(name)) == FAKE:
            return int(index)
    id2label = getattr(config, "id2label", None) or {}
    for index, name in id2label.items():
        if canonical_label(str(name)) == FAKE:
            return int(index)
    if getattr(config, "num_labels", 2) == 2:
        logger.warning("Model labels %s name no 'fake' class; assuming index 1 is fake", dict(id2label))
        return 1
    raise ConfigError(
        f"cannot tell which of the model's labels {dict(id2label)} means fake: "
        "the model must be a 2-class detector with labels real/fake"
    )


@dataclass
class Detector:
    """A loaded model with everything prediction needs."""

    model: torch.nn.Module
    image_processor: Any
    transform: ImageTransform
    fake_index: int
    device: torch.device
    local_dir: Path | None

    @property
    def config(self) -> Any:
        return self.model.config

    @classmethod
    def from_model(
        cls, model: torch.nn.Module, image_processor: Any, device: str | torch.device | None = None
    ) -> Detector:
        """Wrap an in-memory model (e.g. at the end of training); ``device=None`` keeps the model's."""
        target = next(model.parameters()).device if device is None else resolve_device(device)
        model.to(target).eval()
        return cls(
            model=model,
            image_processor=image_processor,
            transform=eval_transform_for(image_processor),
            fake_index=fake_index(model.config),
            device=target,
            local_dir=None,
        )

    def with_crops(self, crops: int) -> Detector:
        """The same detector scoring the mean logits of ``crops`` native-resolution windows per image."""
        return replace(self, transform=eval_transform_for(self.image_processor, crops=crops))

    @torch.inference_mode()
    def fake_scores(self, pixel_values: torch.Tensor) -> np.ndarray:
        """P(fake) = softmax(logits)[:, fake] for a preprocessed batch, as float64 numpy.

        A multi-crop batch ``[B, k, 3, S, S]`` scores the mean of each image's k crop logits.
        """
        dtype = next(self.model.parameters()).dtype
        crops = pixel_values.shape[1] if pixel_values.dim() == 5 else 0
        flat = pixel_values.flatten(0, 1) if crops else pixel_values
        logits = self.model(pixel_values=flat.to(self.device, dtype=dtype, non_blocking=True)).logits.float()
        if crops:
            logits = logits.view(-1, crops, logits.shape[-1]).mean(dim=1)
        # float64 softmax: float32 saturates at P(fake) = 1 for margins above ~17, losing the logit.
        return logits.double().softmax(dim=-1)[:, self.fake_index].cpu().numpy()


def eval_transform_for(image_processor: Any, crops: int = 1) -> ImageTransform:
    """The data layer's evaluation transform for a saved image processor (``crops`` > 1: multi-crop)."""
    from hf_aidetect.data.preprocessing import eval_transform

    return eval_transform(image_processor, crops=crops)


def _check_local_model(name: str) -> None:
    """Fail early, and clearly, for a local path that is not a model folder."""
    path = Path(name).expanduser()
    looks_local = path.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1 or "\\" in name
    if path.is_dir():
        if not (path / CONFIG).is_file():
            raise AIDetectError(f"model folder {path} has no config.json: pass a training output folder")
    elif path.exists():
        raise AIDetectError(f"MODEL {path} is a file; pass the folder that holds config.json")
    elif looks_local:
        raise AIDetectError(f"model folder {path} does not exist; pass a training output folder or a Hub id")


def load_detector(
    model_name_or_path: str | Path,
    *,
    device: str | torch.device | None = "auto",
    trust_remote_code: bool = False,
    revision: str | None = None,
) -> Detector:
    """Load model + image processor with the Auto classes, in eval mode on ``device``.

    Raises :class:`AIDetectError` with the next step to take when the model cannot be loaded.
    """
    from safetensors import SafetensorError
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    import hf_aidetect  # noqa: F401  (registers the seed CNN with the Auto classes)

    name = str(model_name_or_path)
    _check_local_model(name)
    if Path(name).is_dir():  # a cut-off or mismatched file: one line naming it, not a loader traceback
        verify_model_folder(name)
    kwargs = {"trust_remote_code": trust_remote_code, "revision": revision}
    try:
        model = AutoModelForImageClassification.from_pretrained(name, **kwargs)
        image_processor = AutoImageProcessor.from_pretrained(name, **kwargs)
    except (OSError, ValueError, KeyError, SafetensorError) as error:
        needs_code = "trust_remote_code" in str(error) and not trust_remote_code
        hint = " The model ships its own code: add --trust-remote-code if you trust it." if needs_code else ""
        raise AIDetectError(
            f"cannot load the model {name!r} ({str(error).strip().rstrip('.')}). Pass a training output "
            f"folder (config.json, model.safetensors, preprocessor_config.json) or a Hub model id.{hint}"
        ) from error
    detector = Detector.from_model(model, image_processor, device=resolve_device(device))
    detector.local_dir = Path(name) if Path(name).is_dir() else None
    return detector
