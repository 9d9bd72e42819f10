"""A Gradio Space that runs the pushed model: ``hf-aidetect push OUTPUT_DIR --repo-id M --space S``.

The Space repo holds ``README.md`` (``sdk: gradio`` front matter naming the model repo), ``app.py``,
``requirements.txt`` and ``hf_aidetect/``: this package's own source, so the Space runs exactly the app of
``hf-aidetect app`` (same preprocessing, rows, threshold and heatmaps) without hf_aidetect being on a
package index. ``app.py`` loads the model from its repo at start-up (``HF_TOKEN`` as a Space secret for a
private model) and listens where the Space tells Gradio to (``GRADIO_SERVER_NAME`` / ``_PORT``).
Re-pushing replaces the files and deletes vendored files that no longer exist.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from hf_aidetect.errors import HubError
from hf_aidetect.publishing.hub_errors import hub_error

logger = logging.getLogger(__name__)

PACKAGE = "hf_aidetect"
VENDORED_SUFFIXES = (".py", ".md")
# Provided by the Space itself (sdk_version) or only needed for training / tests.
NOT_REQUIRED = {"gradio", "optuna", "pytest", "pytest-timeout", "ruff", "playwright"}
SPACE_EXTRAS = {'extra=="peft"'}
_SPACE_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")

APP_TEMPLATE = '''"""Gradio Space for {model}: the app that `hf-aidetect app {model}` serves.

The model is loaded from its repo at start-up (revision {revision!r}); for a private model add a secret
HF_TOKEN with read access in the Space's settings. `hf_aidetect/` beside this file is the package itself.
"""

from hf_aidetect.deploy.app import build_demo, create_app, launch, offline_gradio

MODEL = {model!r}
REVISION = {revision!r}

offline_gradio()  # no analytics, no version check: as when run locally
app = create_app(MODEL, revision=REVISION)
demo = build_demo(app)

if __name__ == "__main__":
    launch(demo, host=None, port=None)  # the Space sets GRADIO_SERVER_NAME / GRADIO_SERVER_PORT
'''

README_BODY = """
# {title}

Upload face images and get, for each, the label (**real** or **fake**, i.e. AI-generated), P(fake), the
decision threshold in force and a heatmap of what drives the decision; or score a zip archive / a folder
and download a CSV. The model is [{model}](https://huggingface.co/{model}) (revision `{revision}`).

This Space runs the app of [hf_aidetect](https://huggingface.co/{model}) {version} (`hf_aidetect/` here is
its source); locally the same page is `hf-aidetect app {model}`, offline on 127.0.0.1. A score is a
statistical estimate from pixels, not proof of how an image was made: see the model card's limitations.
"""


@dataclass
class SpaceResult:
    """Where the Space went and what it holds."""

    space_id: str
    url: str
    commit_url: str
    files: list[str] = field(default_factory=list)


def check_space_id(space_id: str) -> str:
    if not _SPACE_ID.match(space_id or ""):
        raise HubError(f"--space {space_id!r} is not a Space id: use USER/NAME (e.g. alice/fake-faces-demo)")
    return space_id


def requirements() -> str:
    """``requirements.txt``: hf_aidetect's own dependencies (gradio comes with the Space's SDK), and peft,
    which a LoRA adapter-form model needs to load."""
    lines = []
    for requirement in metadata.requires(PACKAGE) or []:
        marker = requirement.partition(";")[2].replace(" ", "").replace("'", '"')
        if marker and marker not in SPACE_EXTRAS:  # other extras (dev, optuna, export, app): not needed
            continue
        requirement = requirement.partition(";")[0].strip()
        name = re.split(r"[<>=!~\[ ]", requirement, maxsplit=1)[0].lower()
        if name not in NOT_REQUIRED:
            lines.append(requirement)
    return "\n".join(sorted(lines, key=str.lower)) + "\n"


def vendored_files() -> dict[str, Path]:
    """The package's source files, by their path in the Space (``hf_aidetect/...``)."""
    root = Path(__file__).resolve().parents[1]
    return {
        f"{PACKAGE}/{path.relative_to(root).as_posix()}": path
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.suffix in VENDORED_SUFFIXES and "__pycache__" not in path.parts
    }


def space_readme(model: str, revision: str, *, title: str | None = None, license: str | None = None) -> str:
    from huggingface_hub import SpaceCardData

    name = title or f"{model.split('/')[-1]} detector"
    data = SpaceCardData(
        title=name[:60],
        sdk="gradio",
        sdk_version=_version("gradio"),
        app_file="app.py",
        models=[model],
        license=license,
        tags=["hf_aidetect", "ai-image-detection", "deepfake-detection"],
        emoji="🔎",
        colorFrom="gray",
        colorTo="indigo",
        pinned=False,
        short_description="Real or AI-generated face? Label, P(fake), heatmap",
    )
    body = README_BODY.format(title=name, model=model, revision=revision, version=_version(PACKAGE))
    return f"---\n{data.to_yaml()}\n---\n{body}"


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def space_files(model: str, revision: str = "main", license: str | None = None) -> dict[str, bytes | Path]:
    """Every file of the Space repo: generated text (bytes) and the vendored package (paths)."""
    files: dict[str, bytes | Path] = {
        "README.md": space_readme(model, revision, license=license).encode("utf-8"),
        "app.py": APP_TEMPLATE.format(model=model, revision=revision).encode("utf-8"),
        "requirements.txt": requirements().encode("utf-8"),
    }
    files.update(vendored_files())
    return files


def push_space(
    space_id: str,
    model: str,
    *,
    revision: str = "main",
    private: bool | None = None,
    license: str | None = None,
    token: str | None = None,
    endpoint: str | None = None,
) -> SpaceResult:
    """Create (if needed) the Gradio Space ``space_id`` running ``model``; upload its files in one commit."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    check_space_id(space_id)
    api = HfApi(endpoint=endpoint, token=token)
    files = space_files(model, revision, license)
    try:
        url = api.create_repo(
            space_id, repo_type="space", space_sdk="gradio", private=private or None, exist_ok=True
        )
        existing = set(api.list_repo_files(space_id, repo_type="space"))
        operations: list[Any] = [
            CommitOperationAdd(path_in_repo=path, path_or_fileobj=content if isinstance(content, bytes)
                               else str(content))
            for path, content in files.items()
        ]  # fmt: skip
        stale = sorted(path for path in existing if path.startswith(f"{PACKAGE}/") and path not in files)
        operations += [CommitOperationDelete(path_in_repo=path) for path in stale]
        info = api.create_commit(
            space_id,
            repo_type="space",
            operations=operations,
            commit_message=f"Gradio app for {model} (hf_aidetect {_version(PACKAGE)})",
        )
    except HubError:
        raise
    except Exception as error:
        raise hub_error(error, api.endpoint, space_id) from error
    logger.info("Pushed the Space %s (%d files, %d stale removed).", space_id, len(files), len(stale))
    return SpaceResult(space_id=space_id, url=str(url), commit_url=info.commit_url, files=sorted(files))
