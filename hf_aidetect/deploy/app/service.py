"""What the web app does, without the web: score uploads, explain them, turn a zip or a folder into a CSV.

Everything goes through :func:`~hf_aidetect.inference.predict.predict_files`, so the app's rows are
``predict``'s rows (same preprocessing, scores, threshold and per-file error messages); the heatmaps are
``hf-aidetect explain``'s (Grad-CAM for CNNs, gradient-weighted attention rollout for ViTs). A bad file is
a row with a message, never an exception. Uploads are decoded in-process (no loader workers: the web
server runs handlers in threads), and one lock serialises model use (explanations switch the attention
implementation for the call).
"""

from __future__ import annotations

import logging
import tempfile
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image

from hf_aidetect.data.images import has_image_extension, is_hidden_or_system, load_rgb
from hf_aidetect.inference.explain import METHOD_NAMES, explain_image, overlay_heatmap
from hf_aidetect.inference.formats import write_csv
from hf_aidetect.inference.loading import Detector
from hf_aidetect.inference.predict import PredictionRow, predict_files
from hf_aidetect.inference.threshold import resolve_threshold

logger = logging.getLogger(__name__)

MAX_ARCHIVE_FILES = 100_000
MAX_ARCHIVE_BYTES = 8 << 30  # uncompressed; a zip bomb stops here instead of filling the disk
CSV_NAME = "predictions.csv"


def score_text(score: float | None) -> str:
    """P(fake) as ``predict`` writes it (6 decimals), so the page and the CSV read the same."""
    return "" if score is None else f"{score:.6f}"


@dataclass
class ImageVerdict:
    """One uploaded image: ``predict``'s row under the name the user gave the file, and its heatmap."""

    name: str
    row: PredictionRow
    overlay: Image.Image | None = None
    explanation: str = ""

    @property
    def message(self) -> str:
        return self.row.error or self.explanation


@dataclass
class BatchResult:
    """A zip or folder scored: rows (paths relative to it), the CSV written, and what was left out."""

    rows: list[PredictionRow]
    csv_path: Path | None
    skipped: int = 0
    problem: str = ""


class DetectorApp:
    """A loaded detector, its threshold in force and the app's two jobs (images, batches)."""

    def __init__(
        self,
        detector: Detector,
        *,
        model_name: str,
        threshold: float | None = None,
        explain_method: str = "auto",
        batch_size: int = 16,
        work_dir: str | Path | None = None,
    ) -> None:
        self.detector = detector
        self.model_name = model_name
        self.threshold, self.threshold_origin = resolve_threshold(threshold, detector.config)
        self.explain_method = explain_method
        self.batch_size = batch_size
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="hf_aidetect_app_"))
        self._lock = threading.Lock()

    @property
    def rule(self) -> str:
        return f"fake iff P(fake) >= {self.threshold:.4f} ({self.threshold_origin})"

    def _predict(self, paths: Sequence[str | Path]) -> list[PredictionRow]:
        options = {"threshold": self.threshold, "batch_size": self.batch_size, "num_workers": 0}
        with self._lock:
            return list(predict_files(self.detector, paths, progress=False, **options))

    def check_images(self, paths: Sequence[str | Path], *, explain: bool = True) -> list[ImageVerdict]:
        """Score every uploaded file; explain the readable ones (a failed heatmap is a message too)."""
        rows = self._predict(paths)
        verdicts = [ImageVerdict(Path(path).name, row) for path, row in zip(paths, rows)]
        for verdict, path in zip(verdicts, paths):
            if explain and not verdict.row.error:
                self._explain(verdict, Path(path))
        return verdicts

    def _explain(self, verdict: ImageVerdict, path: Path) -> None:
        try:
            image = load_rgb(path)
            with self._lock:
                explanation = explain_image(
                    self.detector, image, method=self.explain_method, threshold=self.threshold
                )
            verdict.overlay = overlay_heatmap(image, explanation.heatmap, region=explanation.region)
            verdict.explanation = f"heatmap: {METHOD_NAMES[explanation.method]}"
        except Exception as error:  # the score stands; only the picture is missing
            logger.warning("No heatmap for %s: %s", verdict.name, error)
            verdict.explanation = f"no heatmap ({type(error).__name__}: {error})"

    def check_folder(self, paths: Sequence[str | Path], root: str | Path | None = None) -> BatchResult:
        """Score uploaded folder files (image extensions only, as ``predict`` does for folders) to CSV."""
        files = [Path(path) for path in paths]
        images = [path for path in files if has_image_extension(path.name) and not _hidden(path)]
        return self._batch(images, root, skipped=len(files) - len(images))

    def check_zip(self, archive: str | Path) -> BatchResult:
        """Extract a zip safely into the work folder, then score its images to CSV."""
        target = Path(tempfile.mkdtemp(prefix="zip_", dir=self.work_dir))
        try:
            files, skipped = extract_images(Path(archive), target)
        except ValueError as error:
            return BatchResult(rows=[], csv_path=None, problem=str(error))
        return self._batch(files, target, skipped=skipped)

    def _batch(self, files: list[Path], root: str | Path | None, skipped: int) -> BatchResult:
        if not files:
            return BatchResult([], None, skipped, "no image files found (by extension: .jpg, .png, ...)")
        rows = self._predict(files)
        for row, path in zip(rows, files):
            row.path = _relative(path, root)
        out = Path(tempfile.mkdtemp(prefix="csv_", dir=self.work_dir)) / CSV_NAME
        with out.open("w", encoding="utf-8", newline="") as stream:
            for _ in write_csv(rows, stream):
                pass
        return BatchResult(rows, out, skipped)


def _hidden(path: Path) -> bool:
    return any(is_hidden_or_system(part) for part in path.parts)


def _relative(path: Path, root: str | Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.name


def _safe_member(name: str) -> PurePosixPath | None:
    """The member's path inside the archive, or None for folders, hidden entries and escaping names."""
    path = PurePosixPath(name.replace("\\", "/"))
    if name.endswith("/") or path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    if any(is_hidden_or_system(part) or part == "__MACOSX" for part in path.parts):
        return None
    return path


def extract_images(archive: Path, target: Path) -> tuple[list[Path], int]:
    """Image files of ``archive`` written under ``target`` (names kept, nothing outside it).

    Returns the files (archive order) and how many entries were left out (not images, hidden, unsafe
    names). Raises ``ValueError`` with a user-facing reason for a file that is not a usable zip.
    """
    if not zipfile.is_zipfile(archive):
        raise ValueError(f"{archive.name} is not a zip archive")
    files: list[Path] = []
    skipped = total = 0
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [info for info in bundle.infolist() if not info.is_dir()]
            if len(members) > MAX_ARCHIVE_FILES:
                raise ValueError(f"{archive.name} holds {len(members)} files; at most {MAX_ARCHIVE_FILES}")
            for info in members:
                member = _safe_member(info.filename)
                if member is None or not has_image_extension(member.name):
                    skipped += 1
                    continue
                total += info.file_size
                if total > MAX_ARCHIVE_BYTES:
                    raise ValueError(f"{archive.name} unpacks to more than {MAX_ARCHIVE_BYTES >> 30} GiB")
                destination = target.joinpath(*member.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(info) as source, destination.open("wb") as sink:
                    sink.write(source.read(MAX_ARCHIVE_BYTES))
                files.append(destination)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as error:
        raise ValueError(f"{archive.name} cannot be read as a zip archive ({error})") from error
    return files, skipped
