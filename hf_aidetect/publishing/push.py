"""Publish a training output folder to the Hugging Face Hub (or any Hub-compatible server).

Only the files a user of the model needs go up: safetensors weights, ``config.json``, the image processor
config, the CNN's remote-code ``*.py`` files, the model card, metrics JSON/CSV and evaluation plots.
Checkpoints, optimizer / scheduler / RNG states and ``training_args.bin`` (which holds ``hub_token``) stay
local. The card is re-rendered in memory with the repo id (the local folder is never modified), every file
is checked for the token before anything is sent, and all requests go through standard ``huggingface_hub``
calls (``whoami``, ``create_repo``, ``create_branch``, ``create_commit``), so ``HF_ENDPOINT``, ``HF_TOKEN``
and ``hf auth login`` work as usual. Failures raise :class:`~hf_aidetect.errors.HubError`; re-running the
push is safe (unchanged files are skipped by the Hub).
"""

from __future__ import annotations

import fnmatch
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_aidetect.errors import HubError, ModelFileError
from hf_aidetect.files.layout import (
    ALL_RESULTS,
    CARD_DATA,
    CONFIG,
    DATA_SUMMARY,
    EPOCH_METRICS,
    EVALUATION_DIR,
    EXPORT_REPORT,
    MODEL_CARD,
    ONNX_DIR,
    PREPROCESSOR_CONFIG,
    PROCESSOR_CONFIG,
    TRAINER_STATE,
    TRAINING_ARGS,
    WIDGET_DIR,
    split_results,
)
from hf_aidetect.models.integrity import verify_model_folder
from hf_aidetect.publishing.adapter_base import publish_base, rebased_files
from hf_aidetect.publishing.card_inputs import collect_card_inputs, read_json
from hf_aidetect.publishing.hub_errors import hub_error
from hf_aidetect.publishing.model_card import render_model_card

logger = logging.getLogger(__name__)

# Patterns match the POSIX path relative to OUTPUT_DIR with fnmatch ("*" also crosses "/"); ignore wins.
DEFAULT_ALLOW_PATTERNS = (
    "*.safetensors",
    "*.safetensors.index.json",
    CONFIG,
    PREPROCESSOR_CONFIG,
    "adapter/adapter_config.json",  # a LoRA model saved as an adapter (its weights match *.safetensors)
    PROCESSOR_CONFIG,
    "*.py",
    MODEL_CARD,
    ALL_RESULTS,
    split_results("*"),
    TRAINER_STATE,
    EPOCH_METRICS,
    DATA_SUMMARY,
    CARD_DATA,
    *(f"{EVALUATION_DIR}/*.{suffix}" for suffix in ("png", "json", "md", "csv")),
    # `hf-aidetect export` writes onnx/ (the Hub's place for ONNX weights); the card lists these files.
    *(f"{ONNX_DIR}/{name}" for name in ("*.onnx", "*.onnx.data", CONFIG, PREPROCESSOR_CONFIG, EXPORT_REPORT)),
    f"{WIDGET_DIR}/*",
)
DEFAULT_IGNORE_PATTERNS = (
    "checkpoint-*",
    "optimizer.pt",
    "scheduler.pt",
    "rng_state*.pth",
    TRAINING_ARGS,
    "runs/*",
    ".git/*",
    ".cache/*",
    "*/__pycache__/*",
    "__pycache__/*",
    "*.pyc",
    "*.lock",
)
CARD_INPUT_FILES = (TRAINER_STATE, ALL_RESULTS, CARD_DATA, EPOCH_METRICS)


@dataclass
class PushResult:
    """Where the model went: repo URL, commit URL / id, branch and the uploaded paths."""

    repo_id: str
    repo_url: str
    commit_url: str
    commit_oid: str
    revision: str
    files: list[str] = field(default_factory=list)


def _matches(path: str, patterns: Iterable[str]) -> bool:
    return any(
        fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, f"{pattern}/*") for pattern in patterns
    )


def select_files(
    output_dir: str | Path,
    allow_patterns: Sequence[str] | None = None,
    ignore_patterns: Sequence[str] | None = None,
) -> list[str]:
    """Relative paths to upload.

    Defaults (:data:`DEFAULT_ALLOW_PATTERNS` minus :data:`DEFAULT_IGNORE_PATTERNS`), plus files matching
    ``allow_patterns`` (which may name a default-ignored file, e.g. ``training_args.bin``), minus files
    matching ``ignore_patterns`` (these always win).
    """
    root = Path(output_dir)
    selected = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(root).as_posix()
        by_default = _matches(relative, DEFAULT_ALLOW_PATTERNS) and not _matches(
            relative, DEFAULT_IGNORE_PATTERNS
        )
        wanted = by_default or _matches(relative, allow_patterns or [])
        if wanted and not _matches(relative, ignore_patterns or []):
            selected.append(relative)
    return selected


def check_output_dir(output_dir: Path, base_model: str | None = None) -> None:
    """Refuse folders that are not a saved model, or whose model does not load (nothing is uploaded then):
    config.json must parse, every safetensors header must read and cover its file, and the weights' names
    and shapes must be those of the model the config builds."""
    if not output_dir.is_dir():
        raise HubError(f"Output folder {output_dir} does not exist: pass the OUTPUT_DIR of a training run.")
    from hf_aidetect.models.lora import adapter_base_problem, is_adapter_folder

    has_weights = any(output_dir.glob("*.safetensors")) or is_adapter_folder(output_dir)
    if not (output_dir / CONFIG).is_file() or not has_weights:
        raise HubError(
            f"{output_dir} has no config.json + *.safetensors at its top level: pass a training OUTPUT_DIR "
            "(after `hf-aidetect train` finished) or a folder written by save_pretrained."
        )
    if base_model and not is_adapter_folder(output_dir):
        raise HubError(
            f"--base-model is for LoRA adapter saves (--lora_save adapter); {output_dir} holds the whole "
            "model: push it without --base-model. Nothing was uploaded."
        )
    problem = adapter_base_problem(output_dir)
    if problem and not base_model:
        raise HubError(problem)
    try:
        verify_model_folder(output_dir)
    except ModelFileError as error:
        raise HubError(f"{error}. Nothing was uploaded.") from error


def render_card_bytes(
    output_dir: Path,
    repo_id: str,
    space_id: str | None = None,
    config: dict[str, Any] | None = None,
    revision: str | None = None,
) -> bytes | None:
    """The card re-rendered with the repo id (the branch, for widget image URLs, and the Space that runs
    it), or None to keep an existing README.md that is not ours. ``config`` replaces the folder's
    ``config.json`` (a rebased adapter's)."""
    has_inputs = any((output_dir / name).is_file() for name in CARD_INPUT_FILES)
    if (output_dir / MODEL_CARD).is_file() and not has_inputs:
        return None
    saved = read_json(output_dir / CARD_DATA) or {}
    extra = {"repo_id": repo_id, "model_name": saved.get("model_name") or repo_id.split("/")[-1]}
    if space_id:
        extra["space_id"] = space_id
    extra["revision"] = revision
    card = render_model_card(collect_card_inputs(output_dir, config=config, extra=extra))
    return str(card).encode("utf-8")


def _file_contains(path: Path, needle: bytes, chunk_size: int = 8 << 20) -> bool:
    """Streamed search (weights can be gigabytes); chunks overlap so a match across a boundary is found."""
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            window = tail + chunk
            if needle in window:
                return True
            tail = window[-(len(needle) - 1) :] if len(needle) > 1 else b""
    return False


def check_no_secret(
    output_dir: Path, files: Sequence[str], card: bytes | None, secrets: Iterable[str]
) -> None:
    """Refuse to upload when a token appears in any file (e.g. an explicitly included training_args.bin)."""
    needles = [secret.encode() for secret in secrets if secret]
    if card is not None and any(needle in card for needle in needles):
        raise HubError("The rendered model card contains a Hub token; nothing was uploaded. Report this bug.")
    for relative in files:
        if relative == MODEL_CARD and card is not None:
            continue
        if any(_file_contains(output_dir / relative, needle) for needle in needles):
            raise HubError(
                f"{output_dir / relative} contains your Hub token, so nothing was uploaded. Exclude it "
                f"(--exclude '{relative}') or remove the token from it, then re-run the push."
            )


def resolve_token(token: str | None) -> str:
    """``token``, else the logged-in / ``HF_TOKEN`` one; none at all is an error that says how to log in."""
    from huggingface_hub import get_token

    token = token or get_token()
    if not token:
        raise HubError(
            "No Hugging Face token found: run `hf auth login`, set HF_TOKEN, or pass --token "
            "(a token with write access)."
        )
    return token


def _operations(
    output_dir: Path, files: Sequence[str], card: bytes | None, replaced: dict[str, bytes] | None = None
) -> list[Any]:
    """One addition per file; ``card`` and ``replaced`` (path -> bytes) are uploaded from memory."""
    from huggingface_hub import CommitOperationAdd

    in_memory = {**(replaced or {}), **({MODEL_CARD: card} if card is not None else {})}
    operations = [
        CommitOperationAdd(path_in_repo=relative, path_or_fileobj=str(output_dir / relative))
        for relative in files
        if relative not in in_memory
    ]
    operations += [
        CommitOperationAdd(path_in_repo=path, path_or_fileobj=data) for path, data in in_memory.items()
    ]
    return operations


def _default_message(output_dir: Path) -> str:
    results = read_json(output_dir / ALL_RESULTS) or {}
    accuracy = results.get("test_accuracy")
    suffix = f" (test accuracy {float(accuracy):.4f})" if isinstance(accuracy, (int, float)) else ""
    return f"Upload {output_dir.resolve().name} with hf_aidetect{suffix}"


def commit_with_lfs_fallback(commit: Callable[[], Any], endpoint: str, repo_id: str) -> Any:
    """``commit()``; once more through git-LFS when the server refuses Xet uploads.

    Hub-compatible servers without Xet storage still speak git-LFS. A failure of the retry becomes a
    :class:`HubError` whose advice is not "disable Xet" (that was just tried).
    """
    try:
        return commit()
    except Exception as error:
        if "xet" not in str(error).lower():
            raise
        logger.warning("%s does not accept Xet uploads (%s); retrying with git-LFS.", endpoint, error)
        try:
            with xet_disabled():
                return commit()
        except Exception as retry_error:
            raise hub_error(retry_error, endpoint, repo_id, xet_disabled=True) from retry_error


def push_to_hub(
    output_dir: str | Path,
    repo_id: str | None = None,
    *,
    private: bool | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    endpoint: str | None = None,
    allow_patterns: Sequence[str] | None = None,
    ignore_patterns: Sequence[str] | None = None,
    regenerate_card: bool = True,
    space_id: str | None = None,
    base_model: str | None = None,
) -> PushResult:
    """Create (if needed) ``repo_id`` and upload the publishable files of ``output_dir`` in one commit.

    ``repo_id`` defaults to ``<your user>/<folder name>``; a bare ``NAME`` goes under your user. ``revision``
    is a branch, created from ``main`` when missing. ``endpoint`` defaults to ``HF_ENDPOINT``. The local
    folder is never modified. ``space_id``: the card's Deploy section links that Space (pushed by
    :func:`~hf_aidetect.publishing.space.push_space`). ``base_model``: the Hub id a LoRA adapter save
    references as its base (its local base folder is uploaded there first; see
    :mod:`hf_aidetect.publishing.adapter_base`). Raises :class:`HubError` with what to do on any failure.
    """
    from huggingface_hub import HfApi, get_token

    output_dir = Path(output_dir)
    check_output_dir(output_dir, base_model)
    token = resolve_token(token)
    api = HfApi(endpoint=endpoint, token=token)
    target = repo_id or output_dir.resolve().name
    try:
        if "/" not in target:
            target = f"{api.whoami()['name']}/{target}"
        else:
            api.whoami()  # fail fast, with a clear message, on a bad token or an unreachable server
        files = select_files(output_dir, allow_patterns, ignore_patterns)
        replaced = rebased_files(output_dir, base_model) if base_model else {}
        config = json.loads(replaced[CONFIG]) if replaced else None
        card = render_card_bytes(output_dir, target, space_id, config, revision) if regenerate_card else None
        check_no_secret(output_dir, files, card, {token, get_token() or ""})
        if base_model:
            publish_base(api, output_dir, base_model, private)
        return _upload(api, output_dir, target, files, card, private, revision, commit_message, replaced)
    except HubError:
        raise
    except Exception as error:
        raise hub_error(error, api.endpoint, target) from error


def _upload(
    api: Any,
    output_dir: Path,
    repo_id: str,
    files: list[str],
    card: bytes | None,
    private: bool | None,
    revision: str | None,
    commit_message: str | None,
    replaced: dict[str, bytes] | None = None,
) -> PushResult:
    repo_url = api.create_repo(repo_id, private=private or None, exist_ok=True)
    if private and not api.model_info(repo_id).private:
        raise HubError(
            f"{repo_id} already exists and is public, but --private was asked: make it private in its "
            "settings on the Hub (or push without --private), then re-run. Nothing was uploaded."
        )
    branch = revision or "main"
    if branch != "main":
        api.create_branch(repo_id, branch=branch, exist_ok=True)
    logger.info("Pushing %d files from %s to %s (branch %s).", len(files), output_dir, repo_id, branch)

    def commit() -> Any:
        return api.create_commit(
            repo_id,
            operations=_operations(output_dir, files, card, replaced),
            commit_message=commit_message or _default_message(output_dir),
            revision=branch,
        )

    info = commit_with_lfs_fallback(commit, api.endpoint, repo_id)
    uploaded = sorted({*files, *([MODEL_CARD] if card is not None else [])})
    logger.info("Pushed to %s (commit %s).", repo_url, info.oid)
    return PushResult(
        repo_id=repo_id,
        repo_url=str(repo_url),
        commit_url=info.commit_url,
        commit_oid=info.oid,
        revision=branch,
        files=uploaded,
    )


@contextmanager
def xet_disabled() -> Iterator[None]:
    """Same effect as HF_HUB_DISABLE_XET=1 (read by huggingface_hub at import), for one call."""
    from huggingface_hub import constants

    saved = constants.HF_HUB_DISABLE_XET
    constants.HF_HUB_DISABLE_XET = True
    try:
        yield
    finally:
        constants.HF_HUB_DISABLE_XET = saved


def push_output_dir(output_dir: str | Path, repo_id: str | None = None, **kwargs: Any) -> PushResult:
    """Alias of :func:`push_to_hub` used by the training runner (``push_to_hub: true`` in a recipe)."""
    return push_to_hub(output_dir, repo_id, **kwargs)
