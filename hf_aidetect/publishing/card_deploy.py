"""The model card's "Deploy" section: the ONNX files (when exported), the Space, an onnxruntime snippet.

The ONNX facts come from ``onnx/export_report.json`` (written by ``hf-aidetect export``): opset, input side,
parity with PyTorch, the int8 accuracy check. The snippets run where hf_aidetect is not installed:
onnxruntime + numpy + Pillow (+ huggingface_hub to download), and for models that crop at native
resolution the preprocessing is a few lines of numpy read from ``preprocessor_config.json``; otherwise
transformers' ``AutoImageProcessor`` reads that file.
"""

from __future__ import annotations

import json
from typing import Any

from hf_aidetect.files.layout import (
    CONFIG,
    EXPORT_REPORT,
    ONNX_DIR,
    ONNX_MODEL,
    ONNX_QUANTIZED,
    PREPROCESSOR_CONFIG,
)
from hf_aidetect.markdown import markdown_table
from hf_aidetect.publishing.card_inputs import CardInputs, crops_natively

FILE_ROLES = {
    ONNX_MODEL: "float32 graph",
    ONNX_QUANTIZED: "int8 graph (onnxruntime dynamic quantisation)",
    CONFIG: "labels and operating point",
    PREPROCESSOR_CONFIG: "preprocessing (read by the snippet / AutoImageProcessor)",
}

_DOWNLOAD = f"""\
folder = snapshot_download("{{model_ref}}", allow_patterns=["{ONNX_DIR}/*"]) + "/{ONNX_DIR}"
"""
_HEAD = """\
import json

import numpy as np
import onnxruntime as ort
from huggingface_hub import snapshot_download
from PIL import Image, ImageOps
{extra_import}
{download}session = ort.InferenceSession(f"{{folder}}/model.onnx")
config = json.load(open(f"{{folder}}/config.json"))
fake = int(config["label2id"]["fake"])
threshold = config.get("fake_threshold", 0.5)  # 0.5: a tuned threshold is folded into the weights
"""
_NUMPY = """\
prep = json.load(open(f"{folder}/preprocessor_config.json"))
side = prep["crop_size"]["height"]


def window(length):  # centre window at native resolution: (source start, start in the padded square)
    return ((length - side) // 2, 0) if length >= side else (0, (side - length + 1) // 2)


def pixel_values(path):
    image = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"), dtype=np.float32)
    (sy, py), (sx, px) = window(image.shape[0]), window(image.shape[1])
    crop = image[sy : sy + side, sx : sx + side]
    square = np.zeros((side, side, 3), np.float32)  # smaller images are zero-padded, never resized
    square[py : py + crop.shape[0], px : px + crop.shape[1]] = crop
    square = (square * prep["rescale_factor"] - prep["image_mean"]) / prep["image_std"]
    return square.transpose(2, 0, 1)[None].astype(np.float32)
"""
_PROCESSOR = """\
processor = AutoImageProcessor.from_pretrained(folder)


def pixel_values(path):
    image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    return processor(image, return_tensors="np")["pixel_values"].astype(np.float32)
"""
_TAIL = """\


for path in {images}:
    logits = session.run(["logits"], {{"pixel_values": pixel_values(path)}})[0][0].astype(np.float64)
    p_fake = float(np.exp(logits[fake] - np.logaddexp.reduce(logits)))
    print(path, "fake" if p_fake >= threshold else "real", round(p_fake, 6))
"""


def onnx_snippet(
    model_ref: str | None,
    numpy_preprocessing: bool = True,
    *,
    folder: str = ONNX_DIR,
    images: tuple[str, ...] = ("face.jpg",),
) -> str:
    """Python that scores ``images`` with onnxruntime, numpy and Pillow only: the ``onnx/`` folder of the
    Hub repo ``model_ref``, or the local export ``folder`` when ``model_ref`` is None."""
    local = f"folder = {folder!r}  # the export folder\n"
    download = _DOWNLOAD.format(model_ref=model_ref) if model_ref else local
    extra = "" if numpy_preprocessing else "from transformers import AutoImageProcessor\n"
    head = _HEAD.format(download=download, extra_import=extra)
    tail = _TAIL.format(images=json.dumps(list(images)))
    return head + "\n" + (_NUMPY if numpy_preprocessing else _PROCESSOR) + tail


def _size(num_bytes: Any) -> str:
    value = float(num_bytes or 0)
    return f"{value / 1e6:.1f} MB" if value >= 1e5 else f"{value / 1e3:.1f} kB"


def _order(name: str) -> tuple[int, str]:
    roles = list(FILE_ROLES)
    return (roles.index(name) if name in roles else len(roles), name)


def deploy_fields(inputs: CardInputs) -> dict[str, Any]:
    """Template values of the Deploy section; empty when there is nothing to deploy yet."""
    report = inputs.onnx_export
    fields: dict[str, Any] = {"space_id": inputs.space_id, "onnx_table": "", "onnx_notes": ""}
    if not report:
        return fields
    files = report.get("files") or {}
    rows = [[f"`{ONNX_DIR}/{name}`", _size(info.get("bytes")), FILE_ROLES.get(name, "")]
            for name, info in sorted(files.items(), key=lambda item: _order(item[0]))]  # fmt: skip
    rows.append([f"`{ONNX_DIR}/{EXPORT_REPORT}`", "", "exporter, versions, parity proof, hashes"])
    parity = report.get("parity") or {}
    side = (report.get("input") or {}).get("shape", [None, None, "S"])[-1]
    notes = [
        f"Exported with `{report.get('exporter', 'torch.onnx')}` at opset {report.get('opset')}: input "
        f"`pixel_values` float32 `[batch, 3, {side}, {side}]` (dynamic batch), output `logits`."
    ]
    if parity:
        notes.append(
            f"Parity with PyTorch on {parity.get('num_images')} images: max |ΔP(fake)| = "
            f"{float(parity.get('max_abs_diff', 0)):.1e}, labels identical."
        )
    check = (report.get("quantized") or {}).get("accuracy") or {}
    if check:
        notes.append(
            f"The int8 graph's accuracy on {check.get('num_images')} images of `{check.get('data')}`: "
            f"{check.get('accuracy_float'):.4f} (float) -> {check.get('accuracy_int8'):.4f} (int8), labels "
            f"agree on {100 * float(check.get('label_agreement', 0)):.2f}% of images."
        )
    processor = report.get("processor") or {}
    fields.update(
        onnx_table=markdown_table(["file", "size", "what"], rows),
        onnx_notes=" ".join(notes),
        onnx_snippet=onnx_snippet(inputs.repo_id or "USER/MODEL_NAME", crops_natively(processor)),
    )
    return fields
