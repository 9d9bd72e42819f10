"""``hf-aidetect app MODEL``: a Gradio web app around a detector (also what a pushed Space runs).

::

    from hf_aidetect.deploy.app import build_demo, create_app, launch

    app = create_app("runs/vit")             # a model folder or a Hub id
    launch(build_demo(app))                  # http://127.0.0.1:7860, this machine only

The app is offline: Gradio's analytics and version check are off (``GRADIO_ANALYTICS_ENABLED=False``,
set before Gradio is imported), huggingface_hub telemetry is off, the page uses Gradio's bundled fonts
and no share tunnel is opened unless asked for. It binds 127.0.0.1 unless a host is given.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from hf_aidetect.deploy.app.service import DetectorApp
from hf_aidetect.errors import AIDetectError

if TYPE_CHECKING:
    import gradio

__all__ = ["DetectorApp", "build_demo", "create_app", "launch", "offline_gradio", "share_hint"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def offline_gradio() -> None:
    """Switch off everything in Gradio and huggingface_hub that calls home (call before importing gradio)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ.setdefault("GRADIO_SSR_MODE", "False")  # no Node server next to the Python one


def require_gradio() -> None:
    offline_gradio()
    try:
        import gradio  # noqa: F401
    except ImportError as error:
        raise AIDetectError("the app needs Gradio: pip install 'hf_aidetect[app]'") from error


def create_app(
    model: str | Path,
    *,
    revision: str | None = None,
    threshold: float | None = None,
    device: str = "auto",
    trust_remote_code: bool = False,
    explain_method: str = "auto",
) -> DetectorApp:
    """Load ``model`` (a local folder or a Hub id) for the app; ``threshold`` None: the model's own."""
    from hf_aidetect.inference.loading import load_detector

    detector = load_detector(model, device=device, trust_remote_code=trust_remote_code, revision=revision)
    name = Path(model).resolve().name if Path(model).is_dir() else str(model)
    return DetectorApp(detector, model_name=name, threshold=threshold, explain_method=explain_method)


def build_demo(app: DetectorApp) -> gradio.Blocks:
    """The Gradio Blocks page of ``app`` (see :mod:`.interface`)."""
    require_gradio()
    from hf_aidetect.deploy.app.interface import build_demo as build

    return build(app)


def share_hint(host: str) -> str:
    """How to let others use the app, said once at start."""
    where = "this machine only" if host in ("127.0.0.1", "localhost", "::1") else f"every interface ({host})"
    return (
        f"Listening on {where}. To share it: --host 0.0.0.0 serves your network (mind your firewall); "
        "--share opens a temporary public *.gradio.live link through Gradio's tunnel (needs internet); "
        "`hf-aidetect push OUTPUT_DIR --repo-id USER/MODEL --space USER/MODEL-demo` publishes it as a "
        "Hugging Face Space."
    )


def launch(
    demo: gradio.Blocks,
    *,
    host: str | None = DEFAULT_HOST,
    port: int | None = DEFAULT_PORT,
    share: bool = False,
    block: bool = True,
    max_file_size: str | None = "200mb",
) -> str:
    """Serve ``demo``; returns the local URL (``block=False`` returns right after start-up).

    ``host`` / ``port`` None: Gradio's environment (``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT``),
    which is how a Space tells the app where to listen.
    """
    from hf_aidetect.deploy.app.interface import CSS

    offline_gradio()
    _, local_url, _ = demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        quiet=True,
        prevent_thread_lock=True,
        show_error=True,
        max_file_size=max_file_size,
        css=CSS,
        footer_links=[],
    )
    if block:
        demo.block_thread()
    return str(local_url)
