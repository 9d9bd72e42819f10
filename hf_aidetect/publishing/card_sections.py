"""Model card sections about the decision rule and the operating points (rendered by ``model_card``).

The card states one rule, the one every tool uses: ``P(fake) >= 0.5``, the top label, with a tuned threshold
folded into the weights (see :mod:`hf_aidetect.inference.operating_point`); these helpers write what it
means, the TPR-at-low-FPR table with its intervals, the calibration line and the extra ``model-index``
figures (AP, TPR at each FPR budget, ECE, Brier score).
"""

from __future__ import annotations

from typing import Any

from hf_aidetect.publishing.card_inputs import CardInputs
from hf_aidetect.publishing.tables import card_table, fmt, plain


def is_folded(inputs: CardInputs) -> bool:
    return bool(inputs.operating_point) and float(inputs.operating_point.get("logit_shift", 0.0)) != 0.0


def report_figures(report: dict[str, Any]) -> list[tuple[str, str, float, dict[str, Any] | None]]:
    """(type, display, value, args) of the report beyond the classification metrics: AP, TPR at FPR, ECE."""
    figures: list[tuple[str, str, float, dict[str, Any] | None]] = []
    points = report.get("operating_points") or {}
    counts = {"num_real": points.get("num_real"), "num_fake": points.get("num_fake")}
    ap = (points.get("average_precision") or {}).get("value")
    if ap is None:
        ap = report["metrics"].get("average_precision")
    if ap is not None and ap == ap:
        figures.append(("average_precision", "Average precision", ap, None))
    for row in points.get("tpr_at_fpr") or []:
        if row.get("tpr") is None or row["tpr"] != row["tpr"]:
            continue
        percent = f"{100 * row['fpr']:g}"
        args = {"fpr": row["fpr"], "ci95": row.get("ci"), **counts}
        figures.append((f"tpr_at_{percent}pct_fpr", f"TPR at {percent}% FPR", row["tpr"], args))
    calibration = report.get("calibration") or {}
    for key, display in (("ece", f"ECE ({calibration.get('num_bins')} bins)"), ("brier", "Brier score")):
        value = calibration.get(key)
        if value is not None and value == value:
            figures.append((key, display, value, None))
    return figures


def operating_table(points: dict[str, Any]) -> str:
    """TPR at each FPR budget, ROC-AUC and AP with their bootstrap intervals and image counts."""
    if not points.get("tpr_at_fpr"):
        return ""

    def interval(entry: dict[str, Any]) -> str:
        low, high = entry.get("ci") or (None, None)
        return "-" if low is None or high is None else f"[{low:.4f}, {high:.4f}]"

    n_real, n_fake = points.get("num_real"), points.get("num_fake")
    rows = [
        [f"TPR at {100 * row['fpr']:g}% FPR" + ("" if row.get("resolvable", True) else " (*)"),
         row.get("tpr", "-"), interval(row), f"{n_fake} fake / {n_real} real"]
        for row in points["tpr_at_fpr"]
    ]  # fmt: skip
    for key, name in (("roc_auc", "ROC-AUC"), ("average_precision", "Average precision")):
        entry = points.get(key) or {}
        rows.append([name, entry.get("value", "-"), interval(entry), f"{n_fake} fake / {n_real} real"])
    table = card_table(["Figure", "Value", "95% interval", "Images"], rows)
    bootstrap = points.get("bootstrap") or {}
    notes = []
    if bootstrap:
        notes.append(
            f"Intervals: {bootstrap.get('method')}, {bootstrap.get('resamples')} resamples (seed "
            f"{bootstrap.get('seed')}). TPR at an FPR budget is the highest fake recall of any threshold "
            "whose false-positive rate stays within it."
        )
    if any(not row.get("resolvable", True) for row in points["tpr_at_fpr"]):
        notes.append(
            f"(*) {n_real} real images cannot resolve this FPR (the smallest non-zero one is "
            f"1/{n_real}): the figure is the TPR at FPR 0."
        )
    return table + ("\n\n" + " ".join(notes) if notes else "")


def calibration_text(calibration: dict[str, Any]) -> str:
    if calibration.get("ece") is None:
        return ""
    return (
        f"Expected calibration error of P(fake) ({calibration.get('num_bins')} equal-width bins): "
        f"{fmt(calibration['ece'])}; Brier score: {fmt(calibration.get('brier'))} "
        f"({calibration.get('num_samples')} images). See the reliability diagram below."
    )


def decision_rule(inputs: CardInputs) -> str:
    """What P(fake) means and which rule every figure of the card uses."""
    point = inputs.operating_point
    if inputs.fake_threshold is not None and inputs.fake_threshold != 0.5:
        value = plain(inputs.fake_threshold)
        return (
            f"An image is called **fake** when `P(fake) >= {value}` (the `fake_threshold` in `config.json`, "
            'written by an older hf_aidetect). `pipeline("image-classification")` ignores that key and '
            "uses 0.5; fold the threshold into the weights with `hf-aidetect evaluate MODEL DATA "
            f"--threshold {value} --save-threshold` so that every tool uses one rule."
        )
    rule = (
        "An image is called **fake** when `P(fake) >= 0.5`, i.e. when `fake` is the top label: the rule of "
        '`pipeline("image-classification")`, `hf-aidetect predict` and every figure of this card.'
    )
    if not is_folded(inputs):
        return rule + " No other decision threshold was tuned for this model."
    tuning = point.get("tuning") or {}
    how = (
        f"the highest fake recall with a false-positive rate <= {tuning.get('target_fpr')}"
        if tuning.get("method") == "target_fpr"
        else "maximum balanced accuracy"
    )
    where = ""
    if tuning:
        where = (
            f" on {tuning.get('tuned_on', 'a validation set')} ({tuning.get('num_real')} real / "
            f"{tuning.get('num_fake')} fake images, {how})"
        )
    shift = float(point.get("logit_shift", 0.0))
    return (
        f"{rule} The decision threshold was tuned{where} and folded into the classifier's output bias "
        f"(a logit shift of {shift:.4f}), so **P(fake) = 0.5 is that threshold** (it was "
        f"{fmt(float(point.get('threshold_on_unshifted_scores', 0.5)))} on the scores before the fold). "
        "P(fake) ranks images exactly as before the fold (ROC-AUC and AP are unchanged); it is not a "
        "calibrated probability: see the calibration figures."
    )
