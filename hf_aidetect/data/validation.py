"""The pre-training validation pass: find every file that would crash a data-loader worker mid-epoch.

Each image is opened, ``verify()``-ed (PNG CRCs, structure), then really decoded (JPEGs at 1/8 size via
``draft``, which still reads every entropy-coded byte, so truncation is caught) and converted to RGB.
Zero-byte files, non-images, truncated files and decompression bombs (more pixels than
``PIL.Image.MAX_IMAGE_PIXELS``; Pillow's warning is promoted to an error) are reported with a reason.
Files are checked in parallel: a thread pool for small sets, a process pool when there are many files
and cores (decoding is CPU-bound and partly holds the GIL), under a progress bar (huggingface_hub's tqdm,
so ``HF_HUB_DISABLE_PROGRESS_BARS`` / ``hf-aidetect -q`` hide it). Ctrl-C stops the pass at once: the
pending files are cancelled and the pool's workers ignore the signal (no traceback per worker).
"""

from __future__ import annotations

import logging
import os
import signal
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context

from PIL import Image, UnidentifiedImageError

from hf_aidetect.data.images import ImageSource, apply_draft, apply_orientation, open_image, to_rgb
from hf_aidetect.data.report import BadImage
from hf_aidetect.data.validation_cache import cached_check
from hf_aidetect.data.workers import available_cores

logger = logging.getLogger(__name__)

# Below this many files a process pool costs more to start than it saves.
_PROCESS_POOL_MIN_FILES = 2000


def check_image(source: ImageSource) -> str | None:
    """Return why ``source`` cannot be used as a training image, or ``None`` when it decodes fine."""
    if isinstance(source, (str, os.PathLike)):
        try:
            if os.path.getsize(source) == 0:
                return "empty file (0 bytes)"
        except OSError as error:
            return f"cannot read file ({error.strerror or error})"
    elif isinstance(source, dict) and source.get("bytes") is not None and len(source["bytes"]) == 0:
        return "empty image bytes"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open_image(source) as image:
                image.verify()
            with open_image(source) as image:
                apply_draft(image, 0.125)
                rgb = to_rgb(apply_orientation(image))
                rgb.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        return f"decompression bomb: {error}"
    except UnidentifiedImageError:
        return "not an image (Pillow cannot identify the file format)"
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        # Pillow signals truncation / corrupt data with OSError("image file is truncated ...") etc.
        message = str(error) or type(error).__name__
        return f"corrupt or truncated image ({message})"
    except Exception as error:  # any other decoder failure would also kill a worker mid-epoch
        return f"cannot decode image ({type(error).__name__}: {error})"
    return None


def _check_with_limit(args: tuple[ImageSource, int | None]) -> str | None:
    # Process-pool workers re-import PIL, so carry the caller's MAX_IMAGE_PIXELS explicitly.
    source, max_pixels = args
    Image.MAX_IMAGE_PIXELS = max_pixels
    return check_image(source)


# Below this many files the pass is over before a bar would say anything.
_PROGRESS_MIN_FILES = 200


def _ignore_interrupt() -> None:
    """Pool workers leave Ctrl-C to the main process (which cancels them) instead of each printing it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _executor(n_items: int, num_workers: int) -> Executor:
    if n_items >= _PROCESS_POOL_MIN_FILES and num_workers > 1:
        method = "fork" if "fork" in _start_methods() else None
        return ProcessPoolExecutor(num_workers, mp_context=get_context(method), initializer=_ignore_interrupt)
    return ThreadPoolExecutor(num_workers)


def _start_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def check_images(sources: Sequence[ImageSource], num_workers: int | None = None) -> list[str | None]:
    """Run :func:`check_image` over ``sources`` in parallel; one reason (or ``None``) per source, in order."""
    from huggingface_hub.utils import tqdm

    if not sources:
        return []
    workers = min(num_workers or available_cores(), len(sources))
    bar = tqdm(
        total=len(sources), desc="validating images", unit="img", disable=len(sources) < _PROGRESS_MIN_FILES
    )
    with bar:
        if workers <= 1:
            reasons = []
            for source in sources:
                reasons.append(check_image(source))
                bar.update()
            return reasons
        chunksize = max(1, len(sources) // (workers * 8))
        pool = _executor(len(sources), workers)
        try:
            limit = Image.MAX_IMAGE_PIXELS
            reasons = []
            for reason in pool.map(_check_with_limit, [(s, limit) for s in sources], chunksize=chunksize):
                reasons.append(reason)
                bar.update()
        except BaseException:  # Ctrl-C or a failure: do not wait for the files still queued
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return reasons


def validate_files(
    paths: Sequence[str], num_workers: int | None = None, *, cache_root: str | os.PathLike | None = None
) -> list[BadImage]:
    """Check image files; return the bad ones (path + reason) in input order.

    With ``cache_root`` results are remembered per file (see :mod:`hf_aidetect.data.validation_cache`), so
    a second load of an unchanged folder only stats the files.
    """
    if cache_root is None:
        reasons = check_images(paths, num_workers)
    else:
        reasons = cached_check(paths, cache_root, lambda todo: check_images(todo, num_workers))
    return [BadImage(str(path), reason) for path, reason in zip(paths, reasons) if reason is not None]


def log_bad_images(bad: Iterable[BadImage], *, limit: int = 20) -> None:
    """Log skipped files at WARNING: a count plus the first ``limit`` of them with reasons."""
    bad = list(bad)
    if not bad:
        return
    shown = "\n".join(f"  {item}" for item in bad[:limit])
    more = f"\n  ... and {len(bad) - limit} more (see LoadReport.bad_images)" if len(bad) > limit else ""
    logger.warning(
        "Skipping %d unreadable image(s) (pass bad_images='error' to fail instead):\n%s%s",
        len(bad),
        shown,
        more,
    )
