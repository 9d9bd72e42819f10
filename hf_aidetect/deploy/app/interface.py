"""The Gradio page: an "Images" tab (label, P(fake), threshold and heatmap per upload) and a "Batch" tab
(a zip or a folder in, a CSV out). All work is :class:`~.service.DetectorApp`'s; this module only lays
out components and turns results into HTML a person (and the browser test) reads.

Every result cell carries a stable ``data-testid`` / class, so the page can be read by a script exactly
as a person reads it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hf_aidetect.deploy.app.service import BatchResult, DetectorApp, ImageVerdict, score_text

if TYPE_CHECKING:
    import gradio

TITLE = "Real or AI-generated face?"
CSS = """
.hf-aidetect-results { border-collapse: collapse; width: 100%; }
.hf-aidetect-results th, .hf-aidetect-results td { padding: 4px 10px; border-bottom: 1px solid #ddd;
  text-align: left; }
.hf-aidetect-results td.label-fake { color: #b00020; font-weight: 700; }
.hf-aidetect-results td.label-real { color: #00683a; font-weight: 700; }
.hf-aidetect-results tr.has-error td.message { color: #b00020; }
"""
PREVIEW_ROWS = 200


def _file_paths(files: Any) -> list[str]:
    """Gradio hands file paths (str) or objects with ``.name``; a single upload is not a list."""
    if files is None:
        return []
    items = files if isinstance(files, (list, tuple)) else [files]
    return [item if isinstance(item, str) else str(getattr(item, "name", item)) for item in items]


def results_html(verdicts: Sequence[ImageVerdict], threshold: float) -> str:
    """One table row per upload: file, label, P(fake), threshold in force, message."""
    rows = []
    for verdict in verdicts:
        row = verdict.row
        label = row.label or "error"
        rows.append(
            f'<tr class="{"has-error" if row.error else "ok"}" data-testid="result-row" '
            f'data-file="{html.escape(verdict.name, quote=True)}">'
            f'<td class="file">{html.escape(verdict.name)}</td>'
            f'<td class="label label-{label}" data-testid="label">{html.escape(label)}</td>'
            f'<td class="score" data-testid="score">{score_text(row.fake_score) or "-"}</td>'
            f'<td class="threshold" data-testid="threshold">{threshold:.4f}</td>'
            f'<td class="message" data-testid="message">{html.escape(verdict.message)}</td></tr>'
        )
    header = "<tr><th>file</th><th>label</th><th>P(fake)</th><th>threshold</th><th>message</th></tr>"
    return f'<table class="hf-aidetect-results" data-testid="results">{header}{"".join(rows)}</table>'


def batch_summary(result: BatchResult, threshold: float) -> str:
    if result.problem:
        return f"**Nothing scored:** {result.problem}."
    counts = {"fake": 0, "real": 0, "error": 0}
    for row in result.rows:
        counts["error" if row.error else str(row.label)] += 1
    skipped = f"; {result.skipped} file(s) without an image extension left out" if result.skipped else ""
    return (
        f"**{len(result.rows)} image(s):** {counts['fake']} fake, {counts['real']} real, "
        f"{counts['error']} could not be read (see the `error` column), at threshold {threshold:.4f}"
        f"{skipped}."
    )


def _preview(result: BatchResult) -> list[list[str]]:
    return [
        [row.path, row.label or "", score_text(row.fake_score), row.error]
        for row in result.rows[:PREVIEW_ROWS]
    ]


def build_demo(app: DetectorApp) -> gradio.Blocks:
    """The page for ``app`` (see the module doc); launch it with :func:`~hf_aidetect.deploy.app.launch`."""
    import gradio as gr

    def on_images(files: Any) -> tuple[str, list[tuple[Any, str]]]:
        paths = _file_paths(files)
        if not paths:
            return "<p>Upload one or more images.</p>", []
        verdicts = app.check_images(paths)
        gallery = [
            (v.overlay, f"{v.name}: {v.row.label}, P(fake) = {score_text(v.row.fake_score)}")
            for v in verdicts
            if v.overlay is not None
        ]
        return results_html(verdicts, app.threshold), gallery

    def on_batch(archive: Any, folder: Any) -> tuple[str, list[list[str]], str | None]:
        if archive:
            result = app.check_zip(_file_paths(archive)[0])
        elif folder:
            result = app.check_folder(_file_paths(folder))
        else:
            return "Upload a zip archive or choose a folder.", [], None
        csv = str(result.csv_path) if result.csv_path else None
        return batch_summary(result, app.threshold), _preview(result), csv

    with gr.Blocks(title=f"{TITLE} - {app.model_name}", analytics_enabled=False) as demo:
        gr.Markdown(
            f"# {TITLE}\n"
            f"Model **{html.escape(app.model_name)}**. Decision rule: an image is **fake** when "
            f"P(fake) >= **{app.threshold:.4f}** ({html.escape(app.threshold_origin)}). "
            "A score is a statistical estimate from pixels, not proof of how an image was made."
        )
        with gr.Tab("Images"):
            uploads = gr.File(label="Images", file_count="multiple", elem_id="image-upload")
            detect = gr.Button("Detect", variant="primary", elem_id="detect-button")
            table = gr.HTML(elem_id="results")
            heatmaps = gr.Gallery(
                label="What drives each decision (red = strongest evidence)",
                columns=3,
                elem_id="heatmaps",
                format="png",
            )
            detect.click(on_images, inputs=uploads, outputs=[table, heatmaps], api_name="detect")
        with gr.Tab("Batch (zip or folder)"):
            with gr.Row():
                archive = gr.File(label="Zip archive", file_types=[".zip"], elem_id="zip-upload")
                folder = gr.File(label="Folder", file_count="directory", elem_id="folder-upload")
            run = gr.Button("Score all", variant="primary", elem_id="batch-button")
            summary = gr.Markdown(elem_id="batch-summary")
            preview = gr.Dataframe(
                headers=["path", "label", "fake_score", "error"],
                label=f"Rows (first {PREVIEW_ROWS}; all of them in the CSV)",
                interactive=False,
            )
            csv = gr.File(label="CSV (path, label, fake_score, error)", elem_id="batch-csv")
            run.click(on_batch, inputs=[archive, folder], outputs=[summary, preview, csv], api_name="batch")
    return demo
