"""``audit.md``: the audit's warnings first, then the probe table, the distributions and the duplicates."""

from __future__ import annotations

from typing import Any

from hf_aidetect.data.audit.probe import COMBINED, SHORTCUT_AUC, auc_text
from hf_aidetect.markdown import markdown_table

MAX_LISTED_PAIRS = 20


def _top(counts: dict[str, int], limit: int = 3) -> str:
    total = sum(counts.values()) or 1
    items = list(counts.items())
    text = ", ".join(f"{name} {100 * n / total:.0f}%" for name, n in items[:limit])
    return text + (", ..." if len(items) > limit else "") if items else "-"


def _probe_table(probe: list[dict[str, Any]]) -> list[str]:
    splits = list(dict.fromkeys(row["split"] for row in probe))
    features = list(dict.fromkeys(row["feature"] for row in probe))
    cell = {(row["split"], row["feature"]): row for row in probe}
    rows = []
    for feature in features:
        cells = []
        for split in splits:
            row = cell.get((split, feature))
            text = auc_text(row["auc"]) if row else "-"
            cells.append(f"**{text}** (!)" if row and row["shortcut"] else text)
        rows.append([f"*{feature}*" if feature == COMBINED else feature, *cells])
    return [markdown_table(["feature", *splits], rows, align="l" + "r" * len(splits))]


def _distribution_table(rows: list[dict[str, Any]]) -> list[str]:
    header = ["split", "class", "images", "formats", "JPEG quality", "subsampling", "colour modes",
              "size (median, range)", "EXIF", "file size (median)"]  # fmt: skip
    cells = []
    for row in rows:
        width, height = row["width"], row["height"]
        size = (
            f"{width['median']:.0f}x{height['median']:.0f} ({width['min']:.0f}-{width['max']:.0f} x "
            f"{height['min']:.0f}-{height['max']:.0f})"
        )
        cells.append(
            [row["split"], row["class"], row["count"], _top(row["formats"]), _top(row["jpeg_quality"]),
             _top(row["subsampling"]), _top(row["modes"]), size, f"{100 * row['exif_fraction']:.0f}%",
             f"{row['file_size']['median'] / 1024:.1f} KiB"]
        )  # fmt: skip
    return [markdown_table(header, cells, align="llrlllllrr")]


def _pairs(title: str, pairs: list[dict[str, Any]] | None) -> list[str]:
    if pairs is None:
        return [f"## {title}", "", "Not checked (`--no-near`).", ""]
    lines = [f"## {title}", "", f"{len(pairs)} pair(s) across splits.", ""]
    if pairs:
        rows = [
            [pair["split_a"], pair["where_a"], pair["split_b"], pair["where_b"], pair["distance"]]
            for pair in pairs[:MAX_LISTED_PAIRS]
        ]
        lines.append(
            markdown_table(["split", "file", "split", "file", "differing bits"], rows, align="llllr")
        )
        if len(pairs) > MAX_LISTED_PAIRS:
            lines.append(f"\n... and {len(pairs) - MAX_LISTED_PAIRS} more in audit.json.")
        lines.append("")
    return lines


def render_audit(payload: dict[str, Any]) -> str:
    lines = [f"# Data audit of `{payload['source']}`", ""]
    if payload["warnings"]:
        lines += ["## WARNINGS", ""] + [f"- **{line}**" for line in payload["warnings"]] + [""]
    else:
        lines += ["No shortcut (metadata probe ROC-AUC <= 0.6) and no leak between splits found.", ""]
    lines += [f"- {note}" for note in payload.get("notes", [])]
    lines += [
        "## Metadata-only probe",
        "",
        "Cross-validated ROC-AUC of a logistic regression that sees only the feature (0.5 = chance). Above "
        f"{SHORTCUT_AUC}, with its 95 % lower bound above 0.5 (marked **(!)**), a detector can tell the "
        "classes apart without looking at the image. JPEG quality and subsampling are probed on the JPEG "
        "images only.",
        "",
        *_probe_table(payload["probe"]),
        "",
        "## Distributions per split and class",
        "",
        *_distribution_table(payload["distributions"]),
        "",
        *_pairs("Exact duplicates (same bytes)", payload["exact_duplicates"]),
        *_pairs("Near-duplicates (perceptual hash)", payload["near_duplicates"]),
    ]
    if payload.get("unreadable"):
        lines += ["## Unreadable files", ""] + [
            f"- {item['where']}: {item['error']}" for item in payload["unreadable"]
        ]
    return "\n".join(lines) + "\n"
