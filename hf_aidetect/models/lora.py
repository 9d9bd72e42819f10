"""LoRA through ``peft``: target modules per family, exact adapter reloads, merged and adapter-form saves.

Training wraps the model in a ``PeftModel`` (adapters on the backbone's projections, the head trained whole
as ``modules_to_save``); its checkpoints hold the adapter and the head only (``adapter_model.safetensors``),
reloaded exactly (every key, or an error) for resuming and for the best checkpoint. After training the
adapters are merged into the weights: the ``merged`` save is a plain checkpoint that needs no peft; the
``adapter`` save keeps ``config.json`` (with ``adapter: {subfolder, base_model, revision}``), the processor
and the code, and puts the adapter + head in ``adapter/`` in peft's format, referencing the base checkpoint;
:meth:`BackboneDetectorForImageClassification.from_pretrained` rebuilds it from the base and merges.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import re
import sys
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel

from hf_aidetect.errors import ConfigError
from hf_aidetect.files.layout import (
    ADAPTER_CONFIG,
    ADAPTER_DIR,
    ADAPTER_WEIGHTS,
    CONFIG,
    WEIGHTS,
    WEIGHTS_INDEX,
)
from hf_aidetect.models.tuning_arguments import TuningArguments

logger = logging.getLogger(__name__)

PEFT_PREFIX = "base_model.model."
# Default adapter targets: a ViT's attention projections (transformers 5 names them the same way in every
# family), ConvNeXt V2's pointwise (MLP) convolutions, which are nn.Linear layers.
ATTENTION_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "out_proj", "query", "key", "value")
FAMILY_TARGETS = {"convnextv2": ("pwconv1", "pwconv2")}
ADAPTABLE = (nn.Linear, nn.Conv2d)


@contextlib.contextmanager
def _quiet_peft() -> Iterator[None]:
    """peft still asks for transformers' deprecated ``is_gradient_checkpointing``: not the user's concern."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def is_peft_model(model: Any) -> bool:
    """A ``peft`` model (checked without importing peft when nothing imported it)."""
    if "peft" not in sys.modules:
        return False
    from peft import PeftModel

    return isinstance(model, PeftModel)


def _family(model: nn.Module) -> str:
    config = model.config
    backbone = getattr(config, "backbone_config", None)
    return str(getattr(backbone, "model_type", None) or config.model_type)


def _excluded(name: str, prefix: str) -> bool:
    """SigLIP's pre-trained pooling head (``backbone.head``) is pooling, not the encoder: no adapters."""
    return name.startswith(f"{prefix}.head.")


def target_names(model: nn.Module, prefix: str, requested: list[str] | None) -> list[str]:
    """Module names (last component) that get adapters: the request, else the family's defaults."""
    linear_names = sorted(
        {
            name.rsplit(".", 1)[-1]
            for name, module in model.named_modules()
            if name.startswith(f"{prefix}.") and isinstance(module, ADAPTABLE) and not _excluded(name, prefix)
        }
    )
    if requested == ["all-linear"]:
        return [
            leaf
            for leaf in linear_names
            if any(isinstance(m, nn.Linear) and n.endswith(f".{leaf}") for n, m in model.named_modules())
        ]
    if requested:
        unknown = [name for name in requested if name not in linear_names]
        if unknown:
            raise ConfigError(
                f"--lora_target_modules {' '.join(unknown)}: no such linear / conv module in the backbone of "
                f"{type(model).__name__}; its modules are named {', '.join(linear_names)} (or all-linear)."
            )
        return list(requested)
    defaults = FAMILY_TARGETS.get(_family(model), ATTENTION_PROJECTIONS)
    found = [name for name in defaults if name in linear_names]
    if not found:
        raise ConfigError(
            f"--tuning lora: no default adapter targets for {type(model).__name__}; pass "
            f"--lora_target_modules (its linear layers are named {', '.join(linear_names)})."
        )
    return found


def target_pattern(prefix: str, names: list[str]) -> str:
    """peft's ``target_modules`` regex: those names inside the backbone (never the head)."""
    alternatives = "|".join(re.escape(name) for name in names)
    return rf"^{re.escape(prefix)}\.(?!head\.)(?:.*\.)?(?:{alternatives})$"


def apply_lora(
    model: PreTrainedModel, args: TuningArguments, heads: list[str], prefix: str | None
) -> nn.Module:
    """``model`` as a ``PeftModel``: LoRA on the backbone's targets, the head modules trained whole."""
    from hf_aidetect.models.backbones import BackboneDetectorForImageClassification

    if prefix is None or not heads:
        raise ConfigError(
            f"--tuning lora: {type(model).__name__} has no separate backbone and head; use --tuning full."
        )
    if args.lora_save == "adapter" and not isinstance(model, BackboneDetectorForImageClassification):
        raise ConfigError(
            f"--lora_save adapter is for CLIP / SigLIP / DINO / ConvNeXt V2 backbones (hf_aidetect's "
            f"backbone head); save {type(model).__name__} merged (--lora_save merged)."
        )
    if args.lora_save == "adapter":
        _base_reference(model.config)  # fail now, not after training, when there is no base to point to
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise ConfigError("--tuning lora needs peft: pip install peft (or hf_aidetect[dev]).") from None
    names = target_names(model, prefix, args.lora_target_modules)
    pattern = target_pattern(prefix, names)
    matched = [name for name, _ in model.named_modules() if re.fullmatch(pattern, name)]
    config = LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=pattern,
        modules_to_save=list(heads),
        bias="none",
    )
    logger.info(
        "LoRA (r=%d, alpha=%d) on %d modules named %s.", args.lora_r, args.lora_alpha, len(matched), names
    )
    with _quiet_peft():
        peft_model = get_peft_model(model, config)
    peft_model.lora_target_names = names  # for the tuning record (the peft config holds the regex)
    return peft_model


def load_exact_adapter(model: nn.Module, checkpoint_dir: str | os.PathLike) -> None:
    """Copy a checkpoint's adapter + head into the ``PeftModel`` in place: every tensor, or an error."""
    from peft import get_peft_model_state_dict, set_peft_model_state_dict
    from safetensors.torch import load_file

    target = model.module if hasattr(model, "module") else model
    path = Path(checkpoint_dir) / ADAPTER_WEIGHTS
    if not path.is_file():
        raise ConfigError(
            f"{checkpoint_dir} has no {ADAPTER_WEIGHTS}: it is not a LoRA checkpoint of this run."
        )
    saved = load_file(str(path))
    expected = get_peft_model_state_dict(target)
    missing, unexpected = sorted(set(expected) - set(saved)), sorted(set(saved) - set(expected))
    shapes = sorted(k for k in set(saved) & set(expected) if saved[k].shape != expected[k].shape)
    if missing or unexpected or shapes:
        raise ConfigError(
            f"{path} does not match the model (missing {missing[:3]}, unexpected {unexpected[:3]}, "
            f"other shapes {shapes[:3]}): resume with the same --tuning / --lora_* / --pooling settings."
        )
    set_peft_model_state_dict(target, saved)
    reloaded = get_peft_model_state_dict(target)
    if any(not torch.equal(reloaded[k].cpu(), saved[k]) for k in saved):
        raise ConfigError(f"{path} was not loaded exactly into the model; report this bug.")
    logger.info("Loaded the exact adapter weights of %s.", checkpoint_dir)


@dataclass
class AdapterSnapshot:
    """The trained adapter + head (peft's state-dict names) and its config, taken before the merge."""

    state: dict[str, torch.Tensor]
    peft_config: Any


def merge_lora(model: nn.Module) -> tuple[nn.Module, AdapterSnapshot | None]:
    """The adapters merged into the weights (a plain model) + the adapter as it was; others unchanged."""
    if not is_peft_model(model):
        return model, None
    from peft import get_peft_model_state_dict

    state = {key: value.detach().cpu().clone() for key, value in get_peft_model_state_dict(model).items()}
    snapshot = AdapterSnapshot(state, copy.deepcopy(model.peft_config["default"]))
    with _quiet_peft():
        merged = model.merge_and_unload()
    logger.info("LoRA adapters merged into the weights (%d adapter tensors).", len(state))
    return merged, snapshot


def _base_reference(config: Any) -> str:
    base = getattr(config, "backbone_checkpoint", None)
    if not base:
        raise ConfigError(
            "--lora_save adapter needs the base checkpoint the backbone came from (--model_name_or_path); "
            "a backbone built from --model_type has none: save merged instead."
        )
    return str(Path(base).resolve()) if Path(base).exists() else str(base)


def save_adapter_form(
    output_dir: str | os.PathLike, model: PreTrainedModel, snapshot: AdapterSnapshot
) -> Path:
    """Turn the merged save in ``output_dir`` into the adapter form (see the module docstring)."""
    from safetensors.torch import save_file

    from hf_aidetect.models.operating_point import update_config_file

    output_dir = Path(output_dir)
    adapter_dir = output_dir / ADAPTER_DIR
    adapter_dir.mkdir(parents=True, exist_ok=True)
    base = _base_reference(model.config)
    peft_config = copy.deepcopy(snapshot.peft_config)
    peft_config.base_model_name_or_path = base
    peft_config.revision = getattr(model.config, "backbone_revision", None)
    peft_config.save_pretrained(str(adapter_dir))
    temporary = adapter_dir / f".{ADAPTER_WEIGHTS}.tmp"
    save_file(
        {k: v.contiguous() for k, v in snapshot.state.items()}, str(temporary), metadata={"format": "pt"}
    )
    os.replace(temporary, adapter_dir / ADAPTER_WEIGHTS)
    adapter = {"subfolder": ADAPTER_DIR, "base_model": base, "revision": peft_config.revision}
    model.config.adapter = adapter
    update_config_file(output_dir, {"adapter": adapter})
    for name in (WEIGHTS, WEIGHTS_INDEX):  # last: an interrupted save still loads (adapter wins)
        (output_dir / name).unlink(missing_ok=True)
    for shard in output_dir.glob("model-*-of-*.safetensors"):
        shard.unlink()
    logger.info("Saved the LoRA adapter + head in %s (base model %s).", adapter_dir, base)
    return adapter_dir


def is_adapter_folder(model_dir: str | os.PathLike) -> bool:
    """An adapter-form save: ``config.json`` names an adapter and ``adapter/`` holds its weights."""
    model_dir = Path(model_dir)
    try:
        config = json.loads((model_dir / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    adapter = config.get("adapter") or {}
    return bool(adapter) and (model_dir / adapter.get("subfolder", ADAPTER_DIR) / ADAPTER_WEIGHTS).is_file()


def adapter_base_problem(model_dir: str | os.PathLike) -> str | None:
    """Why an adapter-form save cannot be published as it is (its base is a local folder), or None."""
    if not is_adapter_folder(model_dir):
        return None
    config = json.loads((Path(model_dir) / CONFIG).read_text(encoding="utf-8"))
    base = str(config["adapter"].get("base_model") or "")
    if not Path(base).is_absolute():  # a Hub id (local bases are saved as absolute paths)
        return None
    return (
        f"{model_dir} is a LoRA adapter on the local folder {base}, which nobody else can load: push with "
        "--base-model USER/NAME (uploads that folder there and references it), or retrain with --lora_save "
        "merged. Nothing was uploaded."
    )


def verify_adapter_folder(model_dir: str | os.PathLike) -> None:
    """Raise ``ModelFileError`` unless an adapter-form save's adapter fits the model its config builds.

    Cheap, nothing loaded: ``adapter_config.json`` parses, the adapter's safetensors header is whole, the
    head tensors have the head's shapes and every LoRA pair ``A [r, in]`` / ``B [out, r]`` sits on a
    module of the model with those sides.
    """
    from hf_aidetect.errors import ModelFileError
    from hf_aidetect.models.integrity import load_config, read_json_file, safetensors_shapes

    model_dir = Path(model_dir)
    config = load_config(model_dir)
    adapter_dir = model_dir / config.adapter.get("subfolder", ADAPTER_DIR)
    rank = int(read_json_file(adapter_dir / ADAPTER_CONFIG).get("r", 0))
    saved = safetensors_shapes(adapter_dir / ADAPTER_WEIGHTS)
    from transformers import AutoModelForImageClassification

    with torch.device("meta"):
        expected = {
            name: tuple(tensor.shape)
            for name, tensor in AutoModelForImageClassification.from_config(config).state_dict().items()
        }
    problems = []
    for key, shape in saved.items():
        name = key.removeprefix(PEFT_PREFIX)
        module, lora, _ = name.partition(".lora_")
        if not lora:  # a head tensor (modules_to_save), saved under the model's own name
            if expected.get(name) != shape:
                problems.append(f"{key} {shape} (the model has {expected.get(name, 'no such tensor')})")
            continue
        weight = expected.get(f"{module}.weight")
        side = None if weight is None else (weight[1] if lora.startswith("A") else weight[0])
        fits = weight is not None and rank in shape and side in shape and len(shape) == len(weight)
        if not fits:
            problems.append(f"{key} {shape} (rank {rank} on {module} {weight})")
    if problems:
        raise ModelFileError(
            f"the adapter in {adapter_dir} does not fit {model_dir / 'config.json'} ({len(problems)} "
            f"tensors, e.g. {problems[0]}): re-save it (re-run the training) or download it again"
        )


def write_adapter_tensors(model_dir: str | os.PathLike, values: Mapping[str, torch.Tensor]) -> Path:
    """Overwrite head tensors (model parameter names) inside an adapter-form save's weights; atomic."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    config = json.loads((Path(model_dir) / CONFIG).read_text(encoding="utf-8"))
    path = Path(model_dir) / config["adapter"].get("subfolder", ADAPTER_DIR) / ADAPTER_WEIGHTS
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    for name, value in values.items():
        key = PEFT_PREFIX + name
        if key not in tensors:
            raise ConfigError(
                f"{path} has no tensor {key!r} (the head is not in the adapter); cannot update it."
            )
        tensors[key] = value.detach().to(device="cpu", dtype=tensors[key].dtype).contiguous()
    temporary = path.with_name(f".{path.name}.tmp")
    save_file(tensors, str(temporary), metadata=metadata)
    os.replace(temporary, path)
    return path
