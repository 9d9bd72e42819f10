"""Publish a training output folder to the Hugging Face Hub (or any Hub-compatible server).

Uploads, in one commit: the safetensors weights, config.json, the image processor config, the CNN's
remote-code files (*.py), README.md (the model card, re-rendered with the repo id and the best checkpoint's
metrics), metrics JSON/CSV and evaluation/ plots. Checkpoints (checkpoint-*/), optimizer.pt, scheduler.pt,
rng_state*.pth and training_args.bin (which may hold a token) stay local unless you --include them; a file
that contains your token is never uploaded. The local folder is not modified; a failed push can be re-run.

Token: --token, else HF_TOKEN, else the one saved by `hf auth login`. Server: HF_ENDPOINT (default
https://huggingface.co). The repo is created when missing; --revision pushes to a branch (created from main).

ONNX: an `hf-aidetect export` in OUTPUT_DIR/onnx (model.onnx, model_quantized.onnx, configs, report)
goes up too, and the card's Deploy section lists it with an onnxruntime snippet.

--space USER/NAME also creates (or updates) a Gradio Space that runs this model: app.py, requirements.txt,
a README with `sdk: gradio` front matter naming the model repo, and hf_aidetect's source (the Space runs
the app of `hf-aidetect app`, loading the model from its repo and --revision). The card links the Space.
With --private the Space is private too.

Examples:
  hf-aidetect push outputs/vit --repo-id alice/vit-fake-faces
  hf-aidetect push outputs/cnn --repo-id alice/seed-cnn --private --revision experiments
  hf-aidetect push outputs/vit --repo-id alice/vit-fake-faces --space alice/vit-fake-faces-demo
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

NAME = "push"
HELP = "Upload a trained model (weights, card, metrics, plots) to the Hugging Face Hub."
ORDER = 70


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output_dir", metavar="OUTPUT_DIR", help="Training output folder to publish.")
    parser.add_argument(
        "--repo-id", default=None, help="USER/NAME on the Hub (default: YOUR_USER/<folder name>)."
    )
    parser.add_argument("--private", action="store_true", help="Create the repo as private.")
    parser.add_argument(
        "--revision", default=None, help="Branch to push to (created from main when missing)."
    )
    parser.add_argument("--commit-message", default=None, help="Commit message (default names the folder).")
    parser.add_argument(
        "--token", default=None, help="Hub token with write access (prefer HF_TOKEN or `hf auth login`)."
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="PATTERN",
        help="Also upload files matching this glob (relative to OUTPUT_DIR); repeatable.",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="Do not upload files matching this glob; repeatable (exclusions win).",
    )
    parser.add_argument(
        "--keep-card", action="store_true", help="Upload README.md as it is instead of re-rendering it."
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="List the files that would be uploaded; contact no server."
    )
    parser.add_argument(
        "--space",
        metavar="SPACE_ID",
        default=None,
        help="Also push a Gradio Space (USER/NAME) that runs the pushed model (see above).",
    )
    parser.add_argument(
        "--base-model",
        default=None,
        metavar="REPO_ID",
        help="A LoRA adapter save (--lora_save adapter) trained from a local folder: upload that base model "
        "to REPO_ID and reference it from the adapter.",
    )


def run(args: argparse.Namespace) -> int:
    from hf_aidetect.publishing.push import check_output_dir, push_to_hub, select_files

    if args.space:
        from hf_aidetect.publishing.space import check_space_id

        check_space_id(args.space)
    if args.dry_run:
        check_output_dir(Path(args.output_dir), args.base_model)
        for relative in select_files(args.output_dir, args.include, args.exclude):
            print(relative)
        if args.space:
            from hf_aidetect.publishing.space import space_files

            for relative in space_files(args.repo_id or "USER/MODEL", args.revision or "main"):
                print(f"space {args.space}: {relative}")
        return 0

    if not getattr(args, "verbose", False):
        # One INFO line per HTTP request drowns the summary; -v brings them back.
        for name in ("httpx", "httpx2", "httpcore", "httpcore2"):
            logging.getLogger(name).setLevel(logging.WARNING)

    result = push_to_hub(
        args.output_dir,
        args.repo_id,
        private=True if args.private else None,
        revision=args.revision,
        commit_message=args.commit_message,
        token=args.token,
        allow_patterns=args.include,
        ignore_patterns=args.exclude,
        regenerate_card=not args.keep_card,
        space_id=args.space,
        base_model=args.base_model,
    )
    print(f"Pushed {len(result.files)} files to {result.repo_url} (branch {result.revision})")
    print(f"Commit: {result.commit_url}")
    if args.space:
        from hf_aidetect.publishing.space import push_space

        space = push_space(
            args.space,
            result.repo_id,
            revision=result.revision,
            private=True if args.private else None,
            token=args.token,
        )
        print(
            f"Space: {space.url} runs {result.repo_id} ({len(space.files)} files; commit {space.commit_url})"
        )
    return 0
