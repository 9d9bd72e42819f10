"""``hf-aidetect export MODEL --format onnx``: an ONNX graph that provably gives the model's answers.

The graph comes from ``torch.onnx.export(..., dynamo=True)`` (torch.export + onnxscript), which handles
any ``AutoModelForImageClassification`` and the seed CNN alike because it traces the module's own forward:
no per-architecture export config is needed (optimum-onnx needs one per ``model_type`` and pins
transformers 4.x). The graph takes the normalised ``pixel_values`` ``[batch, 3, S, S]`` (float32, dynamic
batch) and returns ``logits`` ``[batch, num_labels]``; a tuned threshold is already in the output bias,
so softmax + "fake iff P(fake) >= 0.5" is the decision rule, as everywhere else.

The export folder holds ``model.onnx``, ``config.json`` (labels, operating point),
``preprocessor_config.json`` (the centre-window preprocessing, readable by transformers or a few lines
of numpy), optionally ``model_quantized.onnx`` (int8 dynamic quantisation) and ``export_report.json``
(opset, versions, the parity proof, the int8 accuracy check, file hashes). It is assembled in a staging
folder and renamed into place only after the parity proof passed: a failed export leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import warnings
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hf_aidetect.deploy.onnx_checks import (
    PARITY_IMAGES,
    check_quantization,
    prove_parity,
    sample_rows,
    synthetic_images,
    undecoded_images,
)
from hf_aidetect.deploy.onnx_detector import INPUT_NAME, OUTPUT_NAME, load_onnx_detector, onnx_size
from hf_aidetect.errors import AIDetectError, ConfigError
from hf_aidetect.files import atomic_directory, check_output_path
from hf_aidetect.files.layout import (
    CONFIG,
    EXPORT_REPORT,
    ONNX_DIR,
    ONNX_MODEL,
    ONNX_QUANTIZED,
    PREPROCESSOR_CONFIG,
)
from hf_aidetect.inference.loading import Detector, load_detector
from hf_aidetect.inference.threshold import resolve_threshold

logger = logging.getLogger(__name__)

DEFAULT_OPSET = 18  # onnxruntime >= 1.14, onnx.js / transformers.js and most serving stacks read it
QUANTIZATIONS = ("int8",)
EXTERNAL_DATA_BYTES = 1_800_000_000  # protobuf's 2 GiB limit, with room for the graph itself
_NOISY_LOGGERS = ("torch.onnx._internal.exporter._registration", "onnxscript", "onnx_ir", "torch.export")
TORCH_CHECK_SWITCH = "TRANSFORMERS_DISABLE_TORCH_CHECK"
VERSIONED = ("torch", "onnx", "onnxscript", "onnxruntime", "transformers", "hf_aidetect")


class _LogitsOnly(torch.nn.Module):
    """``pixel_values -> logits``: the one tensor in and out the graph needs (no ModelOutput, no loss)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=pixel_values).logits


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter warns about torchvision ops and deprecated pytree APIs: not the user's business.

    transformers' input checks (``torch_compilable_check``: e.g. SigLIP 2's "spatial shapes are positive")
    trace to ``aten._is_all_true``, which has no ONNX op; they are off while tracing, and the parity proof
    checks the graph instead.
    """
    saved = {name: logging.getLogger(name).level for name in _NOISY_LOGGERS}
    saved_check = os.environ.get(TORCH_CHECK_SWITCH)
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ[TORCH_CHECK_SWITCH] = "1"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
        if saved_check is None:
            os.environ.pop(TORCH_CHECK_SWITCH, None)
        else:
            os.environ[TORCH_CHECK_SWITCH] = saved_check


def export_graph(model: torch.nn.Module, side: int, path: Path, opset: int = DEFAULT_OPSET) -> None:
    """Write ``model`` (float32, CPU, eval) as ``path`` with a dynamic batch axis (see the module doc)."""
    for package in ("onnx", "onnxscript"):
        try:
            __import__(package)
        except ImportError as error:
            raise AIDetectError(f"export needs {package}: pip install 'hf_aidetect[export]'") from error
    wrapper = _LogitsOnly(model.float().cpu().eval()).eval()
    example = torch.randn(2, 3, side, side, generator=torch.Generator().manual_seed(0))  # batch 1 specialises
    batch = torch.export.Dim("batch", min=1)
    size = sum(parameter.numel() * parameter.element_size() for parameter in model.parameters())
    try:
        with _quiet_exporter(), torch.no_grad():
            program = torch.onnx.export(
                wrapper,
                (example,),
                dynamo=True,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes={INPUT_NAME: {0: batch}},
                opset_version=opset,
                verbose=False,
            )
            program.save(str(path), external_data=size > EXTERNAL_DATA_BYTES)
    except AIDetectError:
        raise
    except Exception as error:  # the exporter raises many types; the first line says which op failed
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        raise AIDetectError(
            f"torch.onnx could not export {type(model).__name__} at opset {opset} ({first}); try another "
            "--opset, or report the model type"
        ) from error


def quantize_int8(source: Path, target: Path) -> None:
    """onnxruntime dynamic quantisation: int8 weights of Conv / MatMul / Gemm, activations at run time."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = target.with_name(f".{target.stem}.prepared.onnx")
    try:
        with _quiet_exporter():
            quant_pre_process(str(source), str(prepared), skip_symbolic_shape=False)
            quantize_dynamic(str(prepared), str(target), weight_type=QuantType.QInt8)
    finally:
        prepared.unlink(missing_ok=True)


def _copy_configs(detector: Detector, staging: Path) -> None:
    """config.json and preprocessor_config.json beside the graph: the model's own files when local."""
    local = detector.local_dir
    for name in (CONFIG, PREPROCESSOR_CONFIG):
        if local is not None and (local / name).is_file():
            shutil.copy2(local / name, staging / name)
    if not (staging / CONFIG).is_file():
        detector.config.save_pretrained(staging)
    if not (staging / PREPROCESSOR_CONFIG).is_file():
        detector.image_processor.save_pretrained(staging)


def _versions() -> dict[str, str]:
    found = {}
    for name in VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def _files(staging: Path) -> dict[str, dict[str, Any]]:
    listing = {}
    for path in sorted(staging.iterdir()):
        if path.is_file() and path.name != EXPORT_REPORT:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            listing[path.name] = {"bytes": path.stat().st_size, "sha256": digest}
    return listing


def _model_name(model: str | Path) -> str:
    """A Hub id as it is; a local folder by its name only (reports get pushed: no local paths)."""
    path = Path(model)
    return path.resolve().name if path.exists() else str(model)


def _check_set(check_data: str | None, split: str | None, max_images: int | None, seed: int = 0) -> Any:
    if check_data is None:
        return None
    from hf_aidetect.inference.evaluate_many import load_evaluation_sets

    item = load_evaluation_sets([check_data], split=split)[0]
    if max_images is not None and len(item.dataset) > max_images:
        chosen = np.sort(np.random.default_rng(seed).choice(len(item.dataset), max_images, replace=False))
        item.dataset = item.dataset.select(chosen.tolist())
    return item


def default_out(model: str | Path) -> Path:
    """``MODEL/onnx`` for a local model folder (what ``push`` uploads and the card lists)."""
    folder = Path(model).expanduser()
    if not folder.is_dir():
        raise ConfigError(
            f"MODEL {model} is not a local folder (a Hub id, or a wrong path): pass --output-dir DIR for "
            "the export"
        )
    return folder / ONNX_DIR


def export_onnx(
    model: str | Path,
    out: str | Path | None = None,
    *,
    opset: int = DEFAULT_OPSET,
    quantize: str | None = None,
    check_data: str | None = None,
    check_split: str | None = None,
    check_max_images: int | None = 2000,
    batch_size: int = 32,
    num_workers: int | None = None,
    trust_remote_code: bool = False,
    revision: str | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Export ``model`` to ``out`` (default ``MODEL/onnx``), prove parity, optionally quantise.

    Returns the folder and the report written as ``export_report.json``. Raises :class:`AIDetectError`
    (nothing written) when the export fails or the parity proof does not hold.
    """
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ConfigError(f"--quantize {quantize!r}: choose one of {', '.join(QUANTIZATIONS)}")
    if quantize and check_data is None:
        raise ConfigError(
            "--quantize int8 needs --check-data DATA (a labelled set) to measure its accuracy change; "
            "a quantised model whose accuracy nobody measured is not shipped"
        )
    if opset < 17:
        raise ConfigError(f"--opset {opset}: the dynamo exporter needs opset 17 or newer (default 18)")
    target = Path(out) if out is not None else default_out(model)
    model_folder = [Path(model)] if Path(model).is_dir() else []
    # Before anything loads: never over the model (MODEL/onnx inside it is fine), never silently replaced.
    check_output_path(target, flag="--output-dir", kind="folder", overwrite=overwrite, inputs=model_folder)
    detector = load_detector(model, device="cpu", trust_remote_code=trust_remote_code, revision=revision)
    check_set = _check_set(check_data, check_split, check_max_images)
    threshold, origin = resolve_threshold(None, detector.config)
    side = detector.transform.spec.size
    with atomic_directory(target, replace=overwrite) as staging:
        logger.info("Exporting %s to ONNX (opset %d, input [batch, 3, %d, %d])", model, opset, side, side)
        export_graph(detector.model, side, staging / ONNX_MODEL, opset)
        _copy_configs(detector, staging)
        onnx_detector = load_onnx_detector(staging)
        if check_set is not None:
            rows = sample_rows(check_set.dataset, PARITY_IMAGES)
            shown = _model_name(check_set.source)  # no local paths in a report that gets pushed
            images, description = undecoded_images(rows), f"{shown}, {check_set.split} split"
        else:
            images, description = synthetic_images(side), "seeded synthetic images, 0.5x to 1.5x the input"
        parity = prove_parity(detector, onnx_detector, images, description=description, threshold=threshold)
        logger.info("%s", parity.summary())
        if not parity.passed:
            raise AIDetectError(f"ONNX export rejected, nothing written: {parity.summary()}")
        report = _report(model, revision, detector, staging, parity.to_dict(), threshold, origin)
        if quantize:
            report["quantized"] = _quantize(
                staging, detector, onnx_detector, images, description, check_set, threshold,
                {"batch_size": batch_size, "num_workers": num_workers, "progress": progress},
            )  # fmt: skip
        report["files"] = _files(staging)
        (staging / EXPORT_REPORT).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    logger.info("ONNX export written to %s", target)
    return target, report


def _report(
    model: str | Path,
    revision: str | None,
    detector: Detector,
    staging: Path,
    parity: dict[str, Any],
    threshold: float,
    origin: str,
) -> dict[str, Any]:
    """``export_report.json`` without the int8 section and the file list (added by the caller)."""
    side, labels = detector.transform.spec.size, int(detector.config.num_labels)
    return {
        "format": "onnx",
        "file": ONNX_MODEL,
        "exporter": "torch.onnx.export(dynamo=True)",
        "opset": _opset(staging / ONNX_MODEL),
        "source_model": _model_name(model),
        "source_revision": revision,
        "versions": _versions(),
        "input": {"name": INPUT_NAME, "shape": ["batch", 3, side, side], "dtype": "float32",
                  "preprocessing": "preprocessor_config.json (the model's evaluation transform)"},
        "output": {"name": OUTPUT_NAME, "shape": ["batch", labels],
                   "id2label": {str(k): v for k, v in detector.config.id2label.items()},
                   "fake_index": detector.fake_index},
        "decision": {"threshold": threshold, "source": origin,
                     "rule": f"fake iff softmax(logits)[:, {detector.fake_index}] >= {threshold:g}"},
        "parity": parity,
        "quantized": None,
    }  # fmt: skip


def _quantize(
    staging: Path,
    detector: Detector,
    onnx_detector: Any,
    images: list[Any],
    description: str,
    check_set: Any,
    threshold: float,
    score_kwargs: dict[str, Any],
) -> dict[str, Any]:
    quantize_int8(staging / ONNX_MODEL, staging / ONNX_QUANTIZED)
    int8 = load_onnx_detector(staging, onnx_file=ONNX_QUANTIZED)
    parity = prove_parity(detector, int8, images, description=description, threshold=threshold)
    check = check_quantization(
        onnx_detector, int8, check_set.dataset,
        data_name=f"{_model_name(check_set.source)} ({check_set.split})",
        threshold=threshold, score_kwargs=score_kwargs,
    )  # fmt: skip
    logger.info("%s", check.summary())
    return {
        "file": ONNX_QUANTIZED,
        "method": "onnxruntime dynamic quantisation, int8 weights (QInt8), activations quantised at run time",
        "bytes": onnx_size(staging / ONNX_QUANTIZED),
        "parity_vs_torch": parity.to_dict(),
        "accuracy": check.to_dict(),
    }


def _opset(path: Path) -> int:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return next(int(entry.version) for entry in model.opset_import if entry.domain in ("", "ai.onnx"))
