"""``hf-aidetect audit DATA``: a shortcut and leak audit of a real-vs-fake dataset, and its train-time part.

:func:`run_audit` reads every image's header facts (:mod:`~hf_aidetect.data.audit.facts`), runs the
metadata-only probe (:mod:`~hf_aidetect.data.audit.probe`), hashes every file for exact duplicates and
(``near=True``) decodes a small copy of each for perceptual near-duplicates across splits
(:mod:`~hf_aidetect.data.audit.duplicates`), and writes ``audit.json`` / ``audit.md``.

:func:`audit_before_training` is what ``train`` runs: headers of a seeded sample for the probe (pooled
over the splits) and for a warning when most training images are smaller than the input window, and
byte hashes only of the files whose size also occurs in another split (a copy has the same size), within
a time budget; it logs a warning per shortcut or leak and never fails the run.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset, DatasetDict
from datasets import Image as ImageFeature

from hf_aidetect.data.audit.duplicates import (
    NEAR_DISTANCE,
    DuplicatePair,
    Row,
    exact_duplicates,
    near_duplicates,
)
from hf_aidetect.data.audit.facts import (
    FileFacts,
    file_size,
    parallel_map,
    perceptual_hash,
    read_facts,
    sha256,
)
from hf_aidetect.data.audit.probe import ProbeResult, metadata_probe, shortcut_warnings
from hf_aidetect.data.labels import ID2LABEL
from hf_aidetect.files import atomic_write_json, atomic_write_text

logger = logging.getLogger(__name__)

AUDIT_JSON = "audit.json"
AUDIT_MD = "audit.md"
TRAINING_SAMPLE = 2000  # header facts per split and class for the train-time probe
TRAINING_BUDGET_S = 30.0


@dataclass
class AuditReport:
    """Everything the audit found; ``warnings`` are the loud lines (shortcuts and leaks)."""

    facts: list[FileFacts]
    probe: list[ProbeResult]
    exact: list[DuplicatePair]
    near: list[DuplicatePair] | None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "warnings": self.warnings,
            "notes": self.notes,
            "distributions": distributions(self.facts),
            "probe": [result.to_dict() for result in self.probe],
            "exact_duplicates": [pair.to_dict() for pair in self.exact],
            "near_duplicates": None if self.near is None else [pair.to_dict() for pair in self.near],
            "unreadable": [{"where": f.where, "error": f.error} for f in self.facts if f.error],
        }


def _rows(dataset_dict: DatasetDict | dict[str, Dataset]) -> list[tuple[str, dict, int, str]]:
    """(split, undecoded image, label, source) of every row."""
    out = []
    for split, dataset in dataset_dict.items():
        raw = dataset.with_format(None).cast_column("image", ImageFeature(decode=False))
        sources = raw["source"] if "source" in raw.column_names else [""] * len(raw)
        out.extend(zip([split] * len(raw), raw["image"], raw["label"], sources))
    return out


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    array = np.asarray(values, dtype=float)
    return {"min": float(array.min()), "median": float(np.median(array)), "max": float(array.max())}


def distributions(facts: list[FileFacts]) -> list[dict[str, Any]]:
    """Per split and class: formats, JPEG quality, subsampling, sizes, colour modes, EXIF, file size."""
    groups: dict[tuple[str, int], list[FileFacts]] = defaultdict(list)
    for fact in facts:
        if not fact.error:
            groups[(fact.split, fact.label)].append(fact)
    out = []
    for (split, label), rows in groups.items():
        qualities = Counter(
            str(r.jpeg_quality) if r.jpeg_quality_exact else f"~{r.jpeg_quality}"
            for r in rows
            if r.jpeg_quality is not None
        )
        out.append(
            {
                "split": split,
                "class": ID2LABEL[label],
                "count": len(rows),
                "formats": dict(Counter(r.format for r in rows).most_common()),
                "jpeg_quality": dict(qualities.most_common()),
                "subsampling": dict(Counter(r.subsampling for r in rows if r.subsampling).most_common()),
                "modes": dict(Counter(r.mode for r in rows).most_common()),
                "width": _summary([r.width for r in rows]),
                "height": _summary([r.height for r in rows]),
                "sizes": dict(Counter(f"{r.width}x{r.height}" for r in rows).most_common(5)),
                "exif_fraction": float(np.mean([r.exif for r in rows])),
                "file_size": _summary([r.file_size for r in rows]),
            }
        )
    return out


_SPLIT_ORDER = {"train": 0, "validation": 1, "test": 2}


def _ordered(pair: DuplicatePair) -> tuple[str, str]:
    return tuple(sorted((pair.split_a, pair.split_b), key=lambda split: _SPLIT_ORDER.get(split, 3)))


def leak_warnings(exact: list[DuplicatePair], near: list[DuplicatePair] | None) -> list[str]:
    lines = []
    for kind, pairs in (("exact duplicate", exact), ("near-duplicate", near or [])):
        by_splits = Counter(_ordered(p) for p in pairs)
        for (a, b), count in by_splits.items():
            example = next(p for p in pairs if _ordered(p) == (a, b))
            lines.append(
                f"LEAK: {count} {kind} pair(s) between {a} and {b}, e.g. {example.where_a} = "
                f"{example.where_b}; remove one copy of each so that {b if b != 'train' else a} measures "
                "unseen images."
            )
    return lines


def run_audit(
    dataset_dict: DatasetDict | dict[str, Dataset],
    *,
    near: bool = True,
    near_distance: int = NEAR_DISTANCE,
    seed: int = 0,
    workers: int | None = None,
) -> AuditReport:
    """The full audit of every row of every split (see the module doc)."""
    rows = _rows(dataset_dict)
    facts = parallel_map(lambda item: read_facts(item[1], item[0], item[2], item[3]), rows, workers)
    probe = metadata_probe(facts, seed=seed)
    keys = [Row(f.split, f.where, f.label) for f in facts]
    exact = exact_duplicates(keys, [f.sha256 for f in facts])
    close = None
    if near:
        hashes = parallel_map(lambda item: perceptual_hash(item[1]), rows, workers)
        close = near_duplicates(keys, hashes, [f.sha256 for f in facts], near_distance)
    report = AuditReport(facts, probe, exact, close)
    report.warnings = shortcut_warnings(probe) + leak_warnings(exact, close)
    unreadable = sum(1 for f in facts if f.error)
    if unreadable:
        report.notes.append(f"{unreadable} file(s) could not be read and are left out of the probe.")
    return report


def padding_warning(facts: list[FileFacts], input_size: int) -> str | None:
    """A warning when most sampled training images are smaller than the ``input_size`` window.

    Under the native-crop geometry such images are zero-padded, and the padding carries no generator trace.
    """
    sides = [(f.width, f.height) for f in facts if f.split == "train" and not f.error and f.width > 0]
    small = [(w, h) for w, h in sides if min(w, h) < input_size]
    if not sides or 2 * len(small) <= len(sides):
        return None
    filled = np.median([min(w, input_size) * min(h, input_size) for w, h in small]) / input_size**2
    width, height = (int(np.median([side[axis] for side in small])) for axis in (0, 1))
    return (
        f"SMALL IMAGES: {len(small)} of {len(sides)} sampled training images are smaller than the "
        f"{input_size} px input window (median {width}x{height}), so about {100 * (1 - filled):.0f} % of "
        "each window is zero padding, which carries no generator trace; a smaller --image_size pads less."
    )


def audit_before_training(
    dataset_dict: DatasetDict | dict[str, Dataset],
    *,
    input_size: int | None = None,
    sample: int = TRAINING_SAMPLE,
    budget_s: float = TRAINING_BUDGET_S,
    seed: int = 0,
) -> list[str]:
    """The cheap audit ``train`` runs: log (and return) one warning per shortcut or leak; never raises.

    ``input_size``: the side of the windows cut at native resolution (None: the images are resampled),
    for a warning when most training images are smaller (:func:`padding_warning`).
    """
    try:
        return _quick_audit(dataset_dict, input_size, sample, budget_s, seed)
    except Exception:  # an audit problem must never stop a training run
        logger.exception(
            "The pre-training data audit failed; training goes on. Run `hf-aidetect audit DATA`."
        )
        return []


def _quick_audit(dataset_dict, input_size: int | None, sample: int, budget_s: float, seed: int) -> list[str]:
    start = time.perf_counter()
    rows = _rows(dataset_dict)
    rng = np.random.default_rng(seed)
    by_group: dict[tuple[str, int], list[int]] = defaultdict(list)
    for index, (split, _, label, _) in enumerate(rows):
        by_group[(split, label)].append(index)
    chosen = sorted(
        i
        for members in by_group.values()
        for i in (members if len(members) <= sample else rng.choice(members, sample, replace=False))
    )
    facts = parallel_map(
        lambda i: read_facts(rows[i][1], rows[i][0], rows[i][2], rows[i][3], with_hash=False), chosen
    )
    lines = shortcut_warnings(metadata_probe(facts, seed=seed, per_split=False))  # pooled: a quarter the fits
    padding = padding_warning(facts, input_size) if input_size else None
    lines += [padding] if padding else []
    # A copy has the same size: hash only files whose size also occurs in another split.
    sizes = parallel_map(lambda item: file_size(item[1]), rows)
    splits_of_size: dict[int, set[str]] = defaultdict(set)
    for (split, *_), size in zip(rows, sizes):
        splits_of_size[size].add(split)
    candidates = [i for i, size in enumerate(sizes) if size >= 0 and len(splits_of_size[size]) > 1]
    hashes = [""] * len(rows)
    checked = 0
    for block in range(0, len(candidates), 512):
        if time.perf_counter() - start > budget_s:
            logger.info(
                "Data audit: time budget of %.0f s reached after hashing %d of %d candidate files; run "
                "`hf-aidetect audit DATA` for the full check.", budget_s, checked, len(candidates),
            )  # fmt: skip
            break
        part = candidates[block : block + 512]
        for index, digest in zip(part, parallel_map(lambda i: sha256(rows[i][1]), part)):
            hashes[index] = digest
        checked += len(part)
    keys = [
        Row(split, image.get("path") or f"{split}[{i}]", label)
        for i, (split, image, label, _) in enumerate(rows)
    ]
    lines += leak_warnings(exact_duplicates(keys, hashes), None)
    for line in lines:
        logger.warning("Data audit: %s", line)
    logger.info("Data audit (headers, exact duplicates) took %.1f s", time.perf_counter() - start)
    return lines


def write_audit(report: AuditReport, out_dir: str | Path, source: str) -> tuple[Path, Path]:
    """``audit.json`` and ``audit.md`` into ``out_dir``."""
    from hf_aidetect.data.audit.markdown import render_audit

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"source": source, **report.to_dict()}
    json_path, md_path = out / AUDIT_JSON, out / AUDIT_MD
    atomic_write_json(json_path, payload, sort_keys=False, default=str)
    atomic_write_text(md_path, render_audit(payload))
    return json_path, md_path
