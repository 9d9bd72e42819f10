"""A metadata-only probe: can file headers alone tell real from fake? Then a detector can cheat with them.

For each feature group (file format, JPEG quality, chroma subsampling, image size, colour mode, EXIF
presence, file size) and for all of them together, a logistic regression (standardised inputs) is
cross-validated (stratified, up to 5 folds, seeded) and the ROC-AUC of its out-of-fold P(fake) is reported.
0.5 is chance. Above :data:`SHORTCUT_AUC` the feature is a shortcut: a detector can score well on this data
by learning it instead of generator fingerprints (e.g. "PNG means real"). On small splits chance alone can
pass 0.6, so a shortcut also needs its AUC's 95 % lower bound (Hanley & McNeil standard error) above 0.5.
JPEG quality and chroma subsampling are probed on the JPEG images only, so they are not the file format in
disguise.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from hf_aidetect.data.audit.facts import FileFacts

logger = logging.getLogger(__name__)

SHORTCUT_AUC = 0.6
MIN_PER_CLASS = 5  # fewer images of a class: the probe is not run (its AUC would be noise)
MAX_ROWS = 20_000  # per probe; a seeded sample beyond that (the AUC barely moves, the time does)


def _one_hot(values: Sequence[str]) -> np.ndarray:
    names = sorted(set(values))
    return np.array([[value == name for name in names] for value in values], dtype=float)


def _log(values: Sequence[float]) -> np.ndarray:
    return np.log1p(np.maximum(np.asarray(values, dtype=float), 0.0))[:, None]


FEATURES: dict[str, tuple[Callable[[list[FileFacts]], np.ndarray], bool]] = {
    # name: (columns from the facts, JPEG images only)
    "file format": (lambda rows: _one_hot([r.format for r in rows]), False),
    "JPEG quality": (lambda rows: np.array([[r.jpeg_quality or 0.0] for r in rows], dtype=float), True),
    "chroma subsampling": (lambda rows: _one_hot([r.subsampling or "none" for r in rows]), True),
    "image size": (
        lambda rows: np.hstack([_log([r.width for r in rows]), _log([r.height for r in rows])]),
        False,
    ),
    "colour mode": (lambda rows: _one_hot([r.mode for r in rows]), False),
    "EXIF presence": (lambda rows: np.array([[float(r.exif)] for r in rows]), False),
    "file size": (lambda rows: _log([r.file_size for r in rows]), False),
}
COMBINED = "all metadata combined"


@dataclass
class ProbeResult:
    """Cross-validated ROC-AUC of one feature group on one split (``auc`` None when not run, see ``note``)."""

    split: str
    feature: str
    auc: float | None
    num_real: int
    num_fake: int
    note: str = ""

    @property
    def lower_bound(self) -> float | None:
        """AUC - 1.96 standard errors (Hanley & McNeil, 1982)."""
        if self.auc is None:
            return None
        a, n_real, n_fake = self.auc, self.num_real, self.num_fake
        q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
        variance = (a * (1 - a) + (n_fake - 1) * (q1 - a * a) + (n_real - 1) * (q2 - a * a)) / (
            n_real * n_fake
        )
        return a - 1.96 * math.sqrt(max(variance, 0.0))

    @property
    def is_shortcut(self) -> bool:
        return self.auc is not None and self.auc > SHORTCUT_AUC and (self.lower_bound or 0.0) > 0.5

    def to_dict(self) -> dict:
        return {**asdict(self), "auc_lower_bound": self.lower_bound, "shortcut": self.is_shortcut}


def _cross_validated_auc(x: np.ndarray, y: np.ndarray, seed: int) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if np.ptp(x, axis=0).max(initial=0.0) == 0.0:
        return 0.5  # a constant feature carries no information
    folds = StratifiedKFold(n_splits=int(min(5, np.bincount(y).min())), shuffle=True, random_state=seed)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings on perfectly separable shortcuts
        scores = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, scores))


def _probe_rows(rows: list[FileFacts], split: str, feature: str, build, seed: int) -> ProbeResult:
    y = np.array([r.label for r in rows], dtype=int)
    counts = np.bincount(y, minlength=2)
    result = ProbeResult(split, feature, None, int(counts[0]), int(counts[1]))
    if counts.min() < MIN_PER_CLASS:
        result.note = f"fewer than {MIN_PER_CLASS} images of a class"
        return result
    result.auc = _cross_validated_auc(build(rows), y, seed)
    return result


def metadata_probe(facts: list[FileFacts], seed: int = 0, per_split: bool = True) -> list[ProbeResult]:
    """AUC over all splits (and per split) per feature group and combined; unreadable files are left out."""
    usable = [f for f in facts if not f.error]
    rng = np.random.default_rng(seed)
    groups = {"all splits": usable}
    if per_split:
        groups.update({s: [f for f in usable if f.split == s] for s in _splits(usable)})
    results = []
    for split, rows in groups.items():
        if len(rows) > MAX_ROWS:
            rows = [rows[i] for i in np.sort(rng.choice(len(rows), MAX_ROWS, replace=False))]
        for feature, (build, jpeg_only) in FEATURES.items():
            subset = [r for r in rows if r.jpeg_quality is not None] if jpeg_only else rows
            results.append(_probe_rows(subset, split, feature, build, seed))
        results.append(_probe_rows(rows, split, COMBINED, _combined, seed))
    return results


def _combined(rows: list[FileFacts]) -> np.ndarray:
    return np.hstack([build(rows) for build, _ in FEATURES.values()])


def _splits(facts: list[FileFacts]) -> list[str]:
    return list(dict.fromkeys(f.split for f in facts))


def shortcut_warnings(results: list[ProbeResult]) -> list[str]:
    """One loud line per feature whose probe AUC is a shortcut in some split (the splits listed)."""
    lines = []
    by_feature: dict[str, list[ProbeResult]] = {}
    for result in results:
        if result.is_shortcut and result.feature != COMBINED:
            by_feature.setdefault(result.feature, []).append(result)
    for feature, found in by_feature.items():
        where = ", ".join(f"{r.auc:.3f} in {r.split} ({r.num_real} real, {r.num_fake} fake)" for r in found)
        lines.append(
            f"SHORTCUT: {feature} alone tells real from fake (ROC-AUC {where}): a detector can learn the "
            f"{feature} instead of the image; make both classes alike in it (re-encode / resize)."
        )
    combined = [r for r in results if r.feature == COMBINED and r.is_shortcut]
    if combined and not lines:
        worst = max(combined, key=lambda r: r.auc or 0.0)
        lines.append(
            f"SHORTCUT: file metadata combined tells real from fake with ROC-AUC {worst.auc:.3f} in "
            f"{worst.split}, though no single feature does."
        )
    return lines


def auc_text(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"
