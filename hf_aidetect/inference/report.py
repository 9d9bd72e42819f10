"""Render an evaluation report dict (see ``evaluation.evaluate_model``) as markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hf_aidetect.inference.robustness import robustness_markdown

SUMMARY_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "precision_real",
    "recall_real",
    "f1_real",
    "precision_fake",
    "recall_fake",
    "f1_fake",
    "f1_macro",
    "roc_auc",
    "average_precision",
)
PLOT_TITLES = {
    "confusion_matrix": "Confusion matrix",
    "roc_curve": "ROC curve",
    "pr_curve": "Precision-recall curve",
    "score_histogram": "Score histogram",
}


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def threshold_sentence(info: dict[str, Any]) -> str:
    """One line saying which threshold is used and why."""
    text = f"Decision threshold **{info['value']:.4f}** ({info['source']}"
    tuned = info.get("validation")
    if tuned:
        how = (
            "max balanced accuracy"
            if tuned["method"] == "max_balanced_accuracy"
            else (f"highest fake recall with FPR <= {tuned['target_fpr']}")
        )
        text += (
            f", {how}: validation balanced accuracy {tuned['balanced_accuracy']:.4f}, "
            f"FPR {tuned['fpr']:.4f}, TPR {tuned['tpr']:.4f}"
        )
    return text + "). An image is called fake when P(fake) >= the threshold."


def _metric_table(report: dict[str, Any]) -> list[str]:
    at_threshold, at_half = report["metrics"], report.get("metrics_at_0.5", {})
    lines = [
        f"| metric | at threshold {report['threshold']['value']:.4f} | at 0.5 |",
        "|---|---:|---:|",
    ]
    for key in SUMMARY_METRICS:
        if key in at_threshold:
            lines.append(f"| {key} | {_number(at_threshold[key])} | {_number(at_half.get(key))} |")
    return lines


def _confusion_table(matrix: list[list[int]]) -> list[str]:
    return [
        "| true \\ predicted | real | fake |",
        "|---|---:|---:|",
        f"| real | {matrix[0][0]} | {matrix[0][1]} |",
        f"| fake | {matrix[1][0]} | {matrix[1][1]} |",
    ]


def _source_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| source | images | real | fake | accuracy | average precision | AP basis |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['source']} | {row['num_samples']} | {row['num_real']} | {row['num_fake']} | "
            f"{_number(row['accuracy'])} | {_number(row['average_precision'])} | {row['ap_basis']} |"
        )
    return lines


def render_report_markdown(report: dict[str, Any]) -> str:
    """The report as markdown with relative image links (the PNGs sit next to it)."""
    lines = [
        f"# Evaluation on the `{report['split']}` split ({report['num_samples']} images)",
        "",
        threshold_sentence(report["threshold"]),
        "",
        "## Metrics (fake = positive class)",
        "",
        *_metric_table(report),
        "",
        "## Confusion matrix",
        "",
        *_confusion_table(report["metrics"]["confusion_matrix"]),
        "",
    ]
    if report.get("per_source"):
        lines += ["## Per source / generator", "", *_source_table(report["per_source"]), ""]
    robustness = report.get("robustness")
    if robustness:
        text = robustness_markdown(
            robustness["rows"], report["threshold"]["value"], robustness["num_samples"]
        )
        lines += ["## Robustness to perturbations", "", text]
    lines += ["## Plots", ""]
    for name, file in report.get("plots", {}).items():
        lines += [f"![{PLOT_TITLES.get(name, name)}]({file})", ""]
    if report.get("gallery"):
        lines += ["## What drives the decision", "", f"![Explanation gallery]({report['gallery']})", ""]
    return "\n".join(lines)


def write_report_markdown(report: dict[str, Any], path: str | Path) -> Path:
    """Write :func:`render_report_markdown` to ``path``."""
    path = Path(path)
    path.write_text(render_report_markdown(report), encoding="utf-8")
    return path
