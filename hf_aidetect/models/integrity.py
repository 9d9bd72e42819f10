"""Prove that a saved model folder (or checkpoint) is whole before it is used, published or resumed.

Cheap checks only, nothing is loaded into memory: ``config.json`` parses, every safetensors header reads and
covers its file (a cut-off file fails here), ``torch.save`` archives have their central directory, and the
weights' names and shapes are exactly those of the architecture the config describes (the model is built
on the ``meta`` device, and transformers' own key conversion maps its names to the saved ones).
Every failure is a :class:`~hf_aidetect.errors.ModelFileError` naming the file and what to do.
"""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path
from typing import Any

from hf_aidetect.errors import ModelFileError
from hf_aidetect.files.layout import CONFIG, LEGACY_WEIGHTS, WEIGHTS, WEIGHTS_INDEX

logger = logging.getLogger(__name__)

_FIX = "re-save it (re-run the training or `save_pretrained`) or download it again"


def read_json_file(path: str | Path) -> Any:
    """Parsed JSON, or :class:`ModelFileError` for a missing, cut-off or invalid file."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{path} is missing; {_FIX}") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ModelFileError(f"{path} is corrupt or incomplete (not valid JSON: {error}); {_FIX}") from error


def safetensors_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape from a safetensors header; the header must describe the whole file."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path} is missing; {_FIX}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            return {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelFileError(f"{path} is corrupt or incomplete ({reason}); {_FIX}") from error


def check_torch_archive(path: str | Path) -> None:
    """A ``torch.save`` file (zip format) whose central directory, written last, is present."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path} is missing")
    try:
        with zipfile.ZipFile(path) as archive:
            archive.namelist()
    except (OSError, zipfile.BadZipFile) as error:
        raise ModelFileError(f"{path} is corrupt or incomplete ({error})") from error


def weight_shapes(folder: str | Path) -> dict[str, tuple[int, ...]] | None:
    """Name -> shape over the folder's safetensors weights (single file or sharded); None without any.

    A ``pytorch_model.bin`` only is checked as an archive (its shapes need unpickling) and gives None.
    """
    folder = Path(folder)
    index = folder / WEIGHTS_INDEX
    if index.is_file():
        weight_map = read_json_file(index).get("weight_map")
        if not isinstance(weight_map, dict):
            raise ModelFileError(f"{index} has no weight_map; {_FIX}")
        shapes: dict[str, tuple[int, ...]] = {}
        for shard in sorted(set(weight_map.values())):
            shapes.update(safetensors_shapes(folder / shard))
        return shapes
    if (folder / WEIGHTS).is_file():
        return safetensors_shapes(folder / WEIGHTS)
    if (folder / LEGACY_WEIGHTS).is_file():
        check_torch_archive(folder / LEGACY_WEIGHTS)
        return None
    raise ModelFileError(f"{folder} holds no weights ({WEIGHTS}, {WEIGHTS_INDEX} or {LEGACY_WEIGHTS})")


def load_config(folder: str | Path) -> Any:
    """The folder's ``PretrainedConfig``, built without running any code shipped in the folder."""
    from transformers import CONFIG_MAPPING

    import hf_aidetect.models  # noqa: F401  (registers seed_cnn)

    path = Path(folder) / CONFIG
    values = read_json_file(path)
    if not isinstance(values, dict):
        raise ModelFileError(f"{path} is not a JSON object; {_FIX}")
    model_type = values.get("model_type")
    if model_type not in CONFIG_MAPPING:
        return None  # custom code we do not run here; the caller decides what that means
    try:
        return CONFIG_MAPPING[model_type].from_dict(values)
    except Exception as error:
        raise ModelFileError(f"{path} does not describe a valid {model_type} config ({error})") from error


def expected_shapes(config: Any) -> dict[str, tuple[int, ...]]:
    """The names and shapes ``save_pretrained`` writes for the architecture ``config`` describes."""
    import torch
    from transformers import AutoModelForImageClassification

    with torch.device("meta"):
        model = AutoModelForImageClassification.from_config(config)
    state = model.state_dict()
    try:
        from transformers.core_model_loading import revert_weight_conversion

        state = revert_weight_conversion(model, state)  # the legacy names save_pretrained writes
    except ImportError:  # older transformers save state_dict names as they are
        pass
    return {name: tuple(tensor.shape) for name, tensor in state.items()}


def _describe_mismatch(saved: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]]) -> str | None:
    missing = sorted(set(expected) - set(saved))
    unexpected = sorted(set(saved) - set(expected))
    shapes = sorted(name for name in set(saved) & set(expected) if saved[name] != expected[name])
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
    if shapes:
        name = shapes[0]
        parts.append(f"{len(shapes)} of another shape (e.g. {name}: {saved[name]} vs {expected[name]})")
    return "; ".join(parts) or None


def verify_model_folder(folder: str | Path, *, check_architecture: bool = True) -> None:
    """Raise :class:`ModelFileError` unless ``folder`` holds a config and weights that load together.

    ``check_architecture``: also compare the weights' names and shapes with the model the config builds
    (skipped, with a log line, for configs of custom code that is not registered in this process).
    """
    folder = Path(folder)
    from hf_aidetect.models.lora import is_adapter_folder, verify_adapter_folder

    if is_adapter_folder(folder) and not (folder / WEIGHTS).is_file():  # a LoRA adapter-form save
        verify_adapter_folder(folder)
        return
    config = load_config(folder)
    saved = weight_shapes(folder)
    if not check_architecture or saved is None:
        return
    if config is None:
        logger.info("%s: custom model type; weights not compared with the architecture.", folder)
        return
    try:
        expected = expected_shapes(config)
    except Exception as error:
        raise ModelFileError(
            f"{folder / CONFIG} does not build a model ({type(error).__name__}: {error}); {_FIX}"
        ) from error
    mismatch = _describe_mismatch(saved, expected)
    if mismatch:
        raise ModelFileError(
            f"the weights in {folder} do not fit its {CONFIG} ({mismatch}): the config or the weights "
            f"were changed or come from another model; {_FIX}"
        )
