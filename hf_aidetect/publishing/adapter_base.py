"""``push --base-model REPO_ID``: publish a LoRA adapter whose base checkpoint is a local folder.

An adapter-form save references its base by the path it was trained from; nobody else can load a local
path. With ``--base-model`` the base folder is uploaded to ``REPO_ID`` (when it is still on disk; unchanged
files cost nothing on the Hub) and the pushed ``config.json`` / ``adapter/adapter_config.json`` reference
``REPO_ID`` instead. The local output folder is never modified: the rewritten files are uploaded from memory.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from hf_aidetect.errors import HubError
from hf_aidetect.files.layout import CONFIG

logger = logging.getLogger(__name__)

BASE_PATTERNS = ["*.safetensors", "*.safetensors.index.json", "*.json", "*.py"]


def rebased_files(output_dir: Path, base_model: str) -> dict[str, bytes]:
    """``config.json`` and the adapter config of ``output_dir`` referencing ``base_model`` (as bytes)."""
    from hf_aidetect.models.lora import ADAPTER_CONFIG, ADAPTER_DIR, is_adapter_folder

    if not is_adapter_folder(output_dir):
        raise HubError(f"--base-model is for LoRA adapter saves; {output_dir} holds the whole model.")
    config = json.loads((output_dir / CONFIG).read_text(encoding="utf-8"))
    subfolder = config["adapter"].get("subfolder", ADAPTER_DIR)
    adapter = json.loads((output_dir / subfolder / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    config["adapter"] = {**config["adapter"], "base_model": base_model, "revision": None}
    config["backbone_checkpoint"], config["backbone_revision"] = base_model, None
    adapter.update(base_model_name_or_path=base_model, revision=None)
    return {
        CONFIG: (json.dumps(config, indent=2, sort_keys=True) + "\n").encode("utf-8"),
        f"{subfolder}/{ADAPTER_CONFIG}": (json.dumps(adapter, indent=2, sort_keys=True) + "\n").encode(
            "utf-8"
        ),
    }


def publish_base(api: Any, output_dir: Path, base_model: str, private: bool | None) -> None:
    """Upload the adapter's local base folder to ``base_model``, or check that ``base_model`` exists."""
    config = json.loads((output_dir / CONFIG).read_text(encoding="utf-8"))
    local = Path(str(config["adapter"].get("base_model") or ""))
    if local.is_absolute() and (local / CONFIG).is_file():
        logger.info("Uploading the adapter's base model %s to %s.", local, base_model)
        api.create_repo(base_model, private=private or None, exist_ok=True)
        api.upload_folder(
            repo_id=base_model,
            folder_path=str(local),
            allow_patterns=BASE_PATTERNS,
            commit_message=f"Base model of a LoRA adapter (uploaded by hf_aidetect from {local.name})",
        )
        return
    try:
        api.model_info(base_model)
    except Exception as error:
        raise HubError(
            f"--base-model {base_model}: the adapter's base folder {local} is gone and {base_model} is not "
            f"on the Hub ({type(error).__name__}); upload the base model there first. Nothing was uploaded."
        ) from error
