"""The package itself: ``import hf_aidetect`` is light, says what to call, and makes saved seed CNNs load
through the Auto classes / ``pipeline()`` without ``trust_remote_code`` in any process that imported it,
whichever of hf_aidetect and transformers comes first."""

from __future__ import annotations

import os
import pydoc
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hf_aidetect
from tests.inference.conftest import save_tiny_cnn

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "datasets", "numpy", "PIL", "matplotlib", "sklearn", "huggingface_hub")


def _python(code: str, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_importing_the_package_and_the_cli_imports_nothing_heavy() -> None:
    result = _python(
        f"""
        import sys
        import hf_aidetect, hf_aidetect.cli
        hf_aidetect.cli.build_parser()
        print(sorted(name for name in {HEAVY!r} if name in sys.modules))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_help_shows_what_to_call() -> None:
    text = pydoc.render_doc(hf_aidetect, renderer=pydoc.plaintext)
    for name in ("train(", "load_detection_dataset", "build_model", "DetectionTrainer", "load_detector"):
        assert name in text
    assert {"train", "DetectionTrainer", "load_detection_dataset", "push_to_hub"} <= set(dir(hf_aidetect))


@pytest.mark.parametrize("name", [name for name in hf_aidetect.__all__ if name != "__version__"])
def test_every_top_level_name_resolves(name: str) -> None:
    assert getattr(hf_aidetect, name) is not None


LOAD_CNN = """
import sys
{first}
from transformers import AutoModelForImageClassification, pipeline
from PIL import Image

model = AutoModelForImageClassification.from_pretrained(sys.argv[1])  # no trust_remote_code
assert type(model).__module__ == "hf_aidetect.models.seed_cnn.modeling_seed_cnn", type(model).__module__
classifier = pipeline("image-classification", model=sys.argv[1])
labels = {{r["label"] for r in classifier(Image.new("RGB", (40, 40)))}}
assert labels == {{"real", "fake"}}, labels
print("LOADED")
"""


@pytest.mark.parametrize(
    "first",
    ["import hf_aidetect", "import transformers.models.auto.modeling_auto, transformers.modeling_utils\n"
     "import hf_aidetect"],
    ids=["hf_aidetect-first", "transformers-first"],
)  # fmt: skip
def test_saved_cnn_loads_without_remote_code_where_hf_aidetect_is_imported(
    first: str, tmp_path: Path
) -> None:
    folder = save_tiny_cnn(tmp_path / "cnn")
    result = _python(LOAD_CNN.format(first=first), str(folder), cwd=tmp_path)
    assert result.returncode == 0 and "LOADED" in result.stdout, result.stderr[-3000:]


def test_without_hf_aidetect_the_cnn_needs_remote_code(tmp_path: Path) -> None:
    folder = save_tiny_cnn(tmp_path / "cnn")
    result = _python(LOAD_CNN.format(first="pass"), str(folder), cwd=tmp_path)
    assert result.returncode != 0 and "trust_remote_code" in result.stderr


@pytest.mark.parametrize(
    "first",
    [
        "import hf_aidetect",
        "import transformers.models.auto.modeling_auto; import hf_aidetect",
        "from hf_aidetect.models.backbones import BackboneDetectorForImageClassification",
        "from hf_aidetect.models.backbones import BackboneDetectorConfig",
        "from hf_aidetect.models.seed_cnn import SeedCNNForImageClassification",
        "from hf_aidetect.models.seed_cnn import SeedCNNConfig",
    ],
)
def test_both_custom_models_join_the_auto_classes_in_any_import_order(first: str) -> None:
    result = _python(
        f"""
        {first}
        from transformers import AutoConfig, AutoModelForImageClassification
        from hf_aidetect.models.backbones import BackboneDetectorConfig
        from hf_aidetect.models.backbones import BackboneDetectorForImageClassification
        from hf_aidetect.models.seed_cnn import SeedCNNConfig, SeedCNNForImageClassification
        mapping = AutoModelForImageClassification._model_mapping
        assert mapping[BackboneDetectorConfig] is BackboneDetectorForImageClassification
        assert mapping[SeedCNNConfig] is SeedCNNForImageClassification
        assert type(AutoConfig.for_model("backbone_detector")) is BackboneDetectorConfig
        print("ok")
        """
    )
    assert result.stdout.strip() == "ok" and "Could not register" not in result.stderr, result.stderr
