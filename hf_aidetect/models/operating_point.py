"""Fold a decision threshold into a 2-label classifier's output bias, so that argmax is the decision rule.

For real / fake logits ``z``, ``P(fake) = sigmoid(z_fake - z_real)``. The rule "fake iff P(fake) >= t" is
"fake iff z_fake - z_real >= logit(t)". Subtracting ``shift = logit(t)`` from the fake logit's bias turns it
into "fake iff P'(fake) >= 0.5", the top label of ``pipeline("image-classification")`` and of every other
consumer of the weights (ONNX, TGI, plain ``argmax``), with no custom code. Scores keep their order, so
ROC-AUC and AP do not change; P'(fake) = 0.5 is the threshold.

The final layer is found generically and **verified**: every module with a ``[num_labels]`` bias is a
candidate, tried last-first (then all of them at once, for heads that average two classifiers such as
distilled DeiT); a candidate is kept only when a forward pass on example inputs shows the logit margin
moved by exactly the shift. The saved weights are then patched in place: only those bias tensors change
in ``model.safetensors`` (or its shards; an adapter-form LoRA save: in its adapter file, which holds the
head), written to a temporary file and renamed over the old one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from hf_aidetect.errors import ConfigError
from hf_aidetect.files import atomic_path
from hf_aidetect.files.layout import CONFIG, WEIGHTS, WEIGHTS_INDEX

logger = logging.getLogger(__name__)


@dataclass
class FoldResult:
    """Which bias parameters were changed and the logit shift the model really applies now."""

    parameters: list[str]
    requested_shift: float
    applied_shift: float


def _margins(model: nn.Module, example: torch.Tensor, fake_index: int) -> torch.Tensor:
    logits = model(pixel_values=example).logits.double()
    return logits[:, fake_index] - logits[:, 1 - fake_index]


def _bias_candidates(model: nn.Module, num_labels: int) -> list[str]:
    """Names of modules whose own ``bias`` parameter has shape ``[num_labels]``, in module order."""
    names = []
    for name, module in model.named_modules():
        bias = getattr(module, "bias", None)
        weight = getattr(module, "weight", None)
        if (
            isinstance(bias, nn.Parameter)
            and isinstance(weight, nn.Parameter)
            and tuple(bias.shape) == (num_labels,)
            and weight.shape[0] == num_labels
        ):
            names.append(name)
    return names


def _shift(model: nn.Module, names: Sequence[str], fake_index: int, amount: float) -> None:
    modules = dict(model.named_modules())
    for name in names:
        modules[name].bias.data[fake_index] -= amount


def fold_logit_shift(model: nn.Module, shift: float, example: torch.Tensor, fake_index: int) -> FoldResult:
    """Lower the fake logit by ``shift`` through the classifier bias (in place); verify it on ``example``.

    ``example``: a preprocessed batch (``pixel_values``) on the model's device. Raises
    :class:`ConfigError` when no bias of the model moves the logits as required (e.g. a head without bias).
    """
    num_labels = int(getattr(model.config, "num_labels", 2))
    if num_labels != 2:
        raise ConfigError(
            f"a threshold can only be folded into a 2-label detector; the model has {num_labels}"
        )
    candidates = _bias_candidates(model, num_labels)
    trials = [[name] for name in reversed(candidates)]
    if len(candidates) > 1:
        trials.append(candidates)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            before = _margins(model, example, fake_index)
            for names in trials:
                _shift(model, names, fake_index, shift)
                moved = before - _margins(model, example, fake_index)
                # Half-precision biases cannot hold the shift exactly: the applied shift is measured below.
                eps = torch.finfo(dict(model.named_modules())[names[0]].bias.dtype).eps
                tolerance = max(1e-3, 8 * eps) * max(1.0, abs(shift))
                if torch.allclose(moved, torch.full_like(moved, shift), atol=tolerance, rtol=0):
                    applied = float(moved.mean())
                    logger.info("Folded a logit shift of %.6f into %s", applied, ", ".join(names))
                    return FoldResult([f"{name}.bias" for name in names], shift, applied)
                _shift(model, names, fake_index, -shift)
    finally:
        model.train(was_training)
    raise ConfigError(
        f"cannot fold the threshold into {type(model).__name__}: no output bias of shape [{num_labels}] "
        "moves its logits (tried "
        + (", ".join(candidates) or "none found")
        + "); evaluate with --threshold instead"
    )


def _atomic_replace(path: Path, write: Callable[[Path], object]) -> None:
    """Write through ``write(temporary_path)`` next to ``path`` and rename it over ``path`` (synced, the
    file's permissions kept; see :func:`hf_aidetect.files.atomic_path`)."""
    with atomic_path(path) as temporary:
        write(temporary)


def _weight_files(model_dir: Path, parameters: Sequence[str]) -> dict[Path, list[str]]:
    index = model_dir / WEIGHTS_INDEX
    if index.is_file():
        weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
        missing = [name for name in parameters if name not in weight_map]
        if missing:
            raise ConfigError(f"{index} does not list {', '.join(missing)}; cannot fold the threshold")
        grouped: dict[Path, list[str]] = {}
        for name in parameters:
            grouped.setdefault(model_dir / weight_map[name], []).append(name)
        return grouped
    single = model_dir / WEIGHTS
    if not single.is_file():
        raise ConfigError(
            f"{model_dir} has no {WEIGHTS}: the threshold can only be folded into safetensors weights "
            "(re-save the model with save_pretrained)"
        )
    return {single: list(parameters)}


def write_folded_biases(model_dir: str | Path, model: nn.Module, parameters: Sequence[str]) -> list[Path]:
    """Copy the in-memory values of ``parameters`` into the folder's safetensors file(s); return them."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    model_dir = Path(model_dir)
    values = dict(model.named_parameters())
    from hf_aidetect.models.lora import is_adapter_folder, write_adapter_tensors

    if is_adapter_folder(model_dir) and not (model_dir / WEIGHTS).is_file():
        return [write_adapter_tensors(model_dir, {name: values[name] for name in parameters})]
    written = []
    for path, names in _weight_files(model_dir, parameters).items():
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata()
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        for name in names:
            if name not in tensors:
                raise ConfigError(f"{path} has no tensor {name!r}; cannot fold the threshold into it")
            tensors[name] = values[name].detach().to(device="cpu", dtype=tensors[name].dtype).contiguous()
        _atomic_replace(
            path, lambda temporary, t=tensors, m=metadata: save_file(t, str(temporary), metadata=m)
        )
        written.append(path)
    return written


def update_config_file(model_dir: str | Path, set_keys: dict, remove_keys: Sequence[str] = ()) -> Path:
    """Set / remove top-level keys of ``model_dir/config.json`` (atomic rewrite); return its path."""
    path = Path(model_dir) / CONFIG
    if not path.is_file():
        raise ConfigError(f"{path} does not exist; is {model_dir} a model folder?")
    config = json.loads(path.read_text(encoding="utf-8"))
    for key in remove_keys:
        config.pop(key, None)
    config.update(set_keys)
    text = json.dumps(config, indent=2, sort_keys=True) + "\n"
    _atomic_replace(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
    return path
