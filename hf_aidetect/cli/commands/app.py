"""Serve a detector as a web app: upload images, get label, P(fake), threshold and a heatmap for each.

MODEL is a local model folder (a training OUTPUT_DIR) or a Hub model id. The page has two tabs:

  Images   upload one or several images: each gets a row with its label, P(fake) (as `predict` writes
           it), the threshold in force and a message (why a file could not be read), and a heatmap of
           what drives the decision (Grad-CAM for the CNN, gradient-weighted attention rollout for ViTs)
  Batch    upload a zip archive or choose a folder: every image is scored and a CSV (path, label,
           fake_score, error: predict's columns) is offered for download

The app runs offline (Gradio analytics and version checks off, bundled fonts, no tunnel) and listens on
127.0.0.1 only, unless --host says otherwise. To share it: --host 0.0.0.0 (your network), --share (a
temporary public gradio.live link; needs internet), or publish it as a Space with
`hf-aidetect push OUTPUT_DIR --repo-id USER/MODEL --space USER/MODEL-demo`.

Examples:
  hf-aidetect app outputs/vit
  hf-aidetect app user/vit-fake-faces --port 8080 --threshold 0.7
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from hf_aidetect.cli.commands.predict import add_model_arguments
from hf_aidetect.cli.parser import add_threshold

NAME = "app"
HELP = "Serve a detector as a Gradio web app (images + heatmaps, zip/folder to CSV), offline, on 127.0.0.1."
ORDER = 65


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument(
        "--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1: this machine only)."
    )
    parser.add_argument("--port", type=int, default=7860, help="Port (default 7860).")
    parser.add_argument(
        "--share", action="store_true", help="Also open a public gradio.live link (needs internet)."
    )
    add_threshold(parser)
    parser.add_argument(
        "--method",
        choices=("auto", "attention", "gradcam", "saliency"),
        default="auto",
        help="Explanation method (default auto: by architecture).",
    )


def run(args: argparse.Namespace) -> int:
    from hf_aidetect.deploy.app import build_demo, create_app, launch, require_gradio, share_hint
    from hf_aidetect.errors import ConfigError

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port} is not a TCP port (0-65535)")
    require_gradio()
    app = create_app(
        args.model,
        revision=args.revision,
        threshold=args.threshold,
        device=args.device,
        trust_remote_code=args.trust_remote_code,
        explain_method=args.method,
    )
    demo = build_demo(app)
    try:
        url = launch(demo, host=args.host, port=args.port, share=args.share, block=False)
    except OSError as error:
        raise ConfigError(
            f"cannot listen on {args.host}:{args.port} ({error}); choose another --port"
        ) from error
    sys.stdout.write(f"hf-aidetect app: {app.model_name} on {url} ({app.rule})\n{share_hint(args.host)}\n")
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C is how a person stops the app
        demo.block_thread()
    return 0
