"""Print the environment a bug report needs (like `transformers env` / `accelerate env`).

Versions of hf_aidetect, Python and the libraries it runs on (and the optional ones: trackers, Optuna,
ONNX, PEFT), the platform, the CPU cores this process may use, every GPU with its memory and compute
capability, native bf16 support (GPU: Ampere or newer; CPU: AVX512-BF16 / AMX, which --auto_bf16 uses),
and the Hugging Face settings (HF_HOME, HF_ENDPOINT, offline mode, whether a token is set; never the token).
Copy the output into the issue. --json prints the same as a JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from hf_aidetect.cli.parser import CommandParser

NAME = "env"
HELP = "Print versions, devices and bf16 support for a bug report."
ORDER = 90

CORE = ("torch", "transformers", "datasets", "accelerate", "huggingface_hub", "evaluate", "safetensors",
        "numpy", "pillow", "scikit-learn", "matplotlib", "pyyaml")  # fmt: skip
OPTIONAL = ("tensorboard", "wandb", "trackio", "optuna", "peft", "onnx", "onnxruntime", "gradio", "timm",
            "torchvision")  # fmt: skip


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--json", action="store_true", help="Print a JSON object instead of a list.")


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _devices() -> dict[str, Any]:
    import torch

    from hf_aidetect.data.workers import available_cores
    from hf_aidetect.training.acceleration import native_bf16

    info: dict[str, Any] = {
        "CPU cores (usable / machine)": f"{available_cores()} / {os.cpu_count()}",
        "torch threads": torch.get_num_threads(),
        "CPU bf16 (native, used by --auto_bf16)": native_bf16("cpu"),
        "CUDA available": torch.cuda.is_available(),
    }
    if torch.cuda.is_available():
        info["CUDA / cuDNN"] = f"{torch.version.cuda} / {torch.backends.cudnn.version()}"
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            info[f"GPU {index}"] = (
                f"{props.name}, {props.total_memory / 2**30:.1f} GiB, compute {props.major}.{props.minor}"
            )
        info["GPU bf16 (native)"] = native_bf16("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        info["MPS available"] = True
    return info


def _hub() -> dict[str, Any]:
    from huggingface_hub import constants, get_token

    return {
        "HF_HOME": constants.HF_HOME,
        "HF_ENDPOINT": constants.ENDPOINT,
        "offline (HF_HUB_OFFLINE)": bool(constants.HF_HUB_OFFLINE),
        "Hub token set": get_token() is not None,
    }


def collect() -> dict[str, Any]:
    """Everything the command prints, as a flat mapping."""
    from hf_aidetect import __version__

    info: dict[str, Any] = {
        "hf_aidetect": __version__,
        "Platform": platform.platform(),
        "Python": sys.version.split()[0],
    }
    info.update({name: _version(name) for name in CORE})
    info.update(_devices())
    info.update(_hub())
    info["optional"] = {name: _version(name) for name in OPTIONAL}
    return info


def run(args: argparse.Namespace) -> int:
    info = collect()
    if args.json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
        return 0
    optional = info.pop("optional")
    lines = ["Copy and paste the text below into your issue.", ""]
    lines += [f"- {key}: {value}" for key, value in info.items()]
    installed = [f"{name} {value}" for name, value in optional.items() if value != "not installed"]
    lines.append(f"- optional: {', '.join(installed) or 'none'}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
