"""Render an evaluation report dict (see ``evaluation.evaluate_model``) as markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hf_aidetect.inference.robustness import robustness_markdown
from hf_aidetect.markdown import markdown_table

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
    "reliability_diagram": "Reliability diagram",
}


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def threshold_sentence(info: dict[str, Any]) -> str:
    """One line saying which threshold is used, why, and (when folded) what P(fake) now means."""
    text = f"Decision threshold **{info['value']:.4f}** ({info['source']}"
    tuned = info.get("validation")
    if tuned:
        how = (
            "max balanced accuracy"
            if tuned["method"] == "max_balanced_accuracy"
            else (f"highest fake recall with FPR <= {tuned['target_fpr']}")
        )
        counts = f" ({tuned['num_real']} real / {tuned['num_fake']} fake)" if "num_real" in tuned else ""
        text += (
            f"; {how} on {tuned.get('tuned_on', 'validation')}{counts}: balanced accuracy "
            f"{tuned['balanced_accuracy']:.4f}, FPR {tuned['fpr']:.4f}, TPR {tuned['tpr']:.4f}"
        )
    text += "). An image is called fake when P(fake) >= the threshold."
    folded = info.get("folded")
    if folded:
        text += (
            f" The tuned threshold {folded['raw_threshold']:.4f} is folded into the classifier's bias "
            f"(logit shift {folded['logit_shift']:.4f}), so P(fake) = 0.5 is that threshold and the model's "
            "top label (`pipeline`) is the decision."
        )
    return text


def _metric_table(report: dict[str, Any]) -> list[str]:
    at_threshold, at_half = report["metrics"], report.get("metrics_at_0.5", {})
    both = report["threshold"]["value"] != 0.5 and at_half
    header = ["metric", f"at threshold {report['threshold']['value']:.4f}", *(["at 0.5"] if both else [])]
    rows = [
        [key, at_threshold[key], *([at_half.get(key)] if both else [])]
        for key in SUMMARY_METRICS
        if key in at_threshold
    ]
    return [markdown_table(header, rows, align="lrr", cell=_number)]


def _interval(entry: dict[str, Any]) -> str:
    low, high = entry.get("ci") or (None, None)
    if low is None or high is None or low != low:
        return "n/a"
    return f"[{low:.4f}, {high:.4f}]"


def operating_point_lines(points: dict[str, Any]) -> list[str]:
    """TPR at each FPR budget, ROC-AUC and AP with their bootstrap intervals and image counts."""
    n_real, n_fake = points["num_real"], points["num_fake"]
    rows = [
        [f"TPR at {100 * row['fpr']:g} % FPR{'' if row['resolvable'] else ' (*)'}", _number(row["tpr"]),
         _interval(row), f"{n_fake} fake (TPR), {n_real} real (FPR)"]
        for row in points["tpr_at_fpr"]
    ]  # fmt: skip
    for key, name in (("roc_auc", "ROC-AUC"), ("average_precision", "Average precision")):
        entry = points[key]
        rows.append([name, _number(entry["value"]), _interval(entry), f"{n_real} real, {n_fake} fake"])
    lines = [markdown_table(["figure", "value", "95 % interval", "images"], rows, align="lr")]
    bootstrap = points.get("bootstrap")
    lines.append("")
    if bootstrap:
        lines.append(
            f"Intervals: {bootstrap['method']}, {bootstrap['resamples']} resamples, "
            f"seed {bootstrap['seed']}. "
            "TPR at an FPR budget is the highest fake recall of any threshold whose FPR stays within it."
        )
    if any(not row["resolvable"] for row in points["tpr_at_fpr"]):
        lines.append(
            f"(*) With {n_real} real images the smallest non-zero FPR is {1 / max(n_real, 1):.4g}: this "
            "budget can only be met at FPR 0, so the figure is the TPR at FPR 0."
        )
    if points.get("note"):
        lines.append(points["note"] + ".")
    return lines


def calibration_lines(calibration: dict[str, Any]) -> list[str]:
    return [
        f"Expected calibration error (ECE, {calibration['num_bins']} equal-width bins of P(fake)): "
        f"**{_number(calibration['ece'])}**; Brier score: **{_number(calibration['brier'])}** "
        f"({calibration['num_samples']} images). ECE is the image-weighted mean gap between the mean P(fake) "
        "of a bin and the fraction of fakes in it; it depends on the class balance of the evaluated set.",
    ]


def _confusion_table(matrix: list[list[int]]) -> list[str]:
    rows = [["real", *matrix[0]], ["fake", *matrix[1]]]
    return [markdown_table(["true \\ predicted", "real", "fake"], rows, align="lrr")]


def _source_table(rows: list[dict[str, Any]]) -> list[str]:
    header = ["source", "images", "real", "fake", "accuracy", "average precision", "TPR at 1 % FPR",
              "AP / TPR basis"]  # fmt: skip
    cells = [
        [row["source"], row["num_samples"], row["num_real"], row["num_fake"], row["accuracy"],
         row["average_precision"], row.get("tpr_at_1pct_fpr"), row["ap_basis"]]
        for row in rows
    ]  # fmt: skip
    return [markdown_table(header, cells, align="lrrrrrrl", cell=_number)]


def render_report_markdown(report: dict[str, Any]) -> str:
    """The report as markdown with relative image links (the PNGs sit next to it)."""
    where = f" of `{report['dataset']}`" if report.get("dataset") else ""
    counts = f"{report['num_samples']} images"
    if "num_real" in report:
        counts += f": {report['num_real']} real, {report['num_fake']} fake"
    lines = [
        f"# Evaluation on the `{report['split']}` split{where} ({counts})",
        "",
        threshold_sentence(report["threshold"]),
        "",
        f"## Metrics at the decision threshold (fake = positive class, {report['num_samples']} images)",
        "",
        *_metric_table(report),
        "",
        "## Confusion matrix",
        "",
        *_confusion_table(report["metrics"]["confusion_matrix"]),
        "",
    ]
    if report.get("operating_points"):
        lines += ["## Operating points", "", *operating_point_lines(report["operating_points"]), ""]
    if report.get("calibration"):
        lines += ["## Calibration", "", *calibration_lines(report["calibration"]), ""]
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
