"""``pack_dataset``: a folder layout (or any loadable source) -> Parquet shards a stream reads, resumably.

::

    OUT/data/{train,validation,test}-NNNNN-of-MMMMM.parquet   image (original bytes), label, source, split, id
    OUT/README.md               dataset card: `configs` (data files per split), features, counts
    OUT/hf_aidetect_pack.json   manifest: plan fingerprint, counts per split / class / source, shards,
                                the load report's skipped images; ``complete`` once every shard is written

The data is read with :func:`~hf_aidetect.data.load_detection_dataset`, so layouts, label aliases, carved
splits and the bad-image validation pass (and its report) are the loader's own. Image bytes are copied as
they are (no re-encoding: the generator's fingerprints survive). Shards are written in parallel processes,
each to a temporary name then renamed, so a shard file is complete or absent; a stopped pack run again
with the same data and options keeps the finished shards and writes the rest.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from datasets import ClassLabel, DatasetDict, Features, Value
from datasets import Image as ImageFeature
from tqdm.auto import tqdm

from hf_aidetect.data.labels import LABEL_NAMES
from hf_aidetect.data.loading import load_detection_dataset
from hf_aidetect.data.pack.plan import (
    SMALL_SHARD_SIZE,
    PackOptions,
    PackPlan,
    ShardPlan,
    plan_pack,
    row_group_rows,
)
from hf_aidetect.data.report import LoadReport
from hf_aidetect.data.streaming.sources import PACK_MANIFEST
from hf_aidetect.data.workers import available_cores
from hf_aidetect.errors import ConfigError, DatasetLayoutError
from hf_aidetect.files import atomic_path, atomic_write_text, is_partial

logger = logging.getLogger(__name__)

PACK_FEATURES = Features(
    {
        "image": ImageFeature(),
        "label": ClassLabel(names=list(LABEL_NAMES)),
        "source": Value("string"),
        "split": Value("string"),
        "id": Value("int64"),
    }
)
MANIFEST_FORMAT = 1
CARD = "README.md"


@dataclass
class PackResult:
    """What a pack run did: the folder, the plan, the load report, and the shards written / kept."""

    out_dir: Path
    plan: PackPlan
    report: LoadReport
    written: int
    kept: int


def pack_dataset(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    options: PackOptions | None = None,
    *,
    overwrite: bool = False,
    progress: bool = True,
) -> PackResult:
    """Write ``source`` as Parquet shards under ``out_dir`` (see the module doc); resumes a stopped run."""
    options = options or PackOptions()
    if options.shard_size < SMALL_SHARD_SIZE:
        logger.warning(
            "Shards of %d bytes are small: per-file overheads will slow streaming.", options.shard_size
        )
    dataset, report = load_detection_dataset(
        source,
        validation_size=options.validation_size,
        test_size=options.test_size,
        seed=options.seed,
        bad_images=options.bad_images,  # type: ignore[arg-type]
        validate=options.validate,
        num_workers=options.num_workers,
        return_report=True,
    )
    rows = DatasetDict(
        {name: split.cast_column("image", ImageFeature(decode=False)) for name, split in dataset.items()}
    )
    plan = plan_pack(rows, options)
    out = Path(out_dir)
    _prepare_out(out, plan.fingerprint, overwrite)
    _write_manifest(out, source, report, plan, options, complete=False)
    todo = [shard for shard in plan.shards if not _shard_done(out, shard)]
    kept = len(plan.shards) - len(todo)
    if kept:
        logger.info(
            "Resuming the pack in %s: %d of %d shard(s) already written.", out, kept, len(plan.shards)
        )
    _write_shards(rows, todo, out, report.root, options.num_workers, progress)
    _write_card(out, plan, report)
    _write_manifest(out, source, report, plan, options, complete=True)
    logger.info(
        "Packed %s into %d shard(s) in %s: %s",
        source,
        len(plan.shards),
        out,
        "; ".join(f"{split} {info['num_rows']}" for split, info in plan.splits.items()),
    )
    return PackResult(out, plan, report, written=len(todo), kept=kept)


def _prepare_out(out: Path, fingerprint: str, overwrite: bool) -> None:
    manifest = _read_manifest(out)
    if manifest is None and out.is_dir() and any(out.iterdir()):
        raise DatasetLayoutError(
            f"{out} is not empty and holds no pack ({PACK_MANIFEST}); give a new or empty --output-dir "
            "folder."
        )
    if manifest is not None and manifest.get("plan_fingerprint") != fingerprint:
        if not overwrite:
            raise ConfigError(
                f"{out} holds a pack of other data or options: --overwrite replaces it; or use another "
                "--output-dir."
            )
        logger.info("Replacing the pack in %s (--overwrite).", out)
        shutil.rmtree(out / "data", ignore_errors=True)
        for name in (CARD, PACK_MANIFEST):
            (out / name).unlink(missing_ok=True)
    (out / "data").mkdir(parents=True, exist_ok=True)
    for stale in (out / "data").iterdir():  # shards a killed run was writing
        if is_partial(stale.name):
            stale.unlink(missing_ok=True)


def _read_manifest(out: Path) -> dict[str, Any] | None:
    path = out / PACK_MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DatasetLayoutError(f"{path} is unreadable ({error}); delete {out} and pack again.") from error


def _shard_done(out: Path, shard: ShardPlan) -> bool:
    path = out / shard.file
    if not path.is_file():
        return False
    try:
        return pq.ParquetFile(path).metadata.num_rows == len(shard.rows)
    except (OSError, pa.ArrowException):
        return False


# -- the shard writers (one process each; the rows reach them by fork, or pickled where there is no fork) --

_WORK: dict[str, Any] = {}


def _init_worker(rows: DatasetDict, out: str, root: str) -> None:
    _WORK.update(rows=rows, out=out, root=root)


def _relative(path: str | None, root: str) -> str | None:
    if not path:
        return None
    relative = os.path.relpath(path, root)
    return Path(path).name if relative.startswith("..") else Path(relative).as_posix()


def _shard_table(shard: ShardPlan) -> pa.Table:
    batch = _WORK["rows"][shard.split][shard.rows]
    images = []
    for image in batch["image"]:
        data = image.get("bytes")
        if data is None:
            try:
                data = Path(image["path"]).read_bytes()
            except OSError as error:
                raise DatasetLayoutError(
                    f"Cannot read {image['path']} ({error.strerror or error}); it changed since the "
                    "validation pass: run pack again."
                ) from error
        images.append({"bytes": data, "path": _relative(image.get("path"), _WORK["root"])})
    columns = {
        "image": images,
        "label": batch["label"],
        "source": batch.get("source") or [""] * len(images),
        "split": [shard.split] * len(images),
        "id": list(range(shard.first_id, shard.first_id + len(images))),
    }
    return pa.Table.from_pydict(columns, schema=PACK_FEATURES.arrow_schema)


def _write_one(shard: ShardPlan) -> int:
    with atomic_path(Path(_WORK["out"]) / shard.file) as temporary:
        pq.write_table(_shard_table(shard), temporary, row_group_size=row_group_rows(shard))
    return len(shard.rows)


def _write_shards(
    rows: DatasetDict, shards: list[ShardPlan], out: Path, root: str, num_workers: int | None, progress: bool
) -> None:
    if not shards:
        return
    workers = min(num_workers or available_cores(), len(shards))
    bar = tqdm(total=sum(len(s.rows) for s in shards), unit="img", desc="pack", disable=not progress)
    try:
        for written in _run(rows, shards, str(out), root, workers):
            bar.update(written)
    finally:
        bar.close()


def _run(rows: DatasetDict, shards: list[ShardPlan], out: str, root: str, workers: int) -> Iterator[int]:
    if workers <= 1:
        _init_worker(rows, out, root)
        for shard in shards:
            yield _write_one(shard)
        return
    context = get_context("fork" if "fork" in get_all_start_methods() else None)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(rows, out, root)
    ) as pool:
        futures = [pool.submit(_write_one, shard) for shard in shards]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


# -- the card and the manifest -----------------------------------------------------------------------


def _write_manifest(
    out: Path, source: Any, report: LoadReport, plan: PackPlan, options: PackOptions, *, complete: bool
) -> None:
    splits = {}
    for split, info in plan.splits.items():
        shards = [
            {"file": s.file, "num_rows": len(s.rows), "num_bytes": s.num_bytes}
            for s in plan.shards
            if s.split == split
        ]
        splits[split] = {**info, "shards": shards}
    manifest = {
        "format": MANIFEST_FORMAT,
        "tool": "hf-aidetect pack",
        "complete": complete,
        "source": os.fspath(source),
        "layout": report.layout,
        "carved_splits": report.carved_splits,
        "options": {**asdict(options), "num_workers": None},
        "plan_fingerprint": plan.fingerprint,
        "splits": splits,
        "bad_images": [asdict(bad) for bad in report.bad_images],
    }
    atomic_write_text(out / PACK_MANIFEST, json.dumps(manifest, indent=1) + "\n")


def _write_card(out: Path, plan: PackPlan, report: LoadReport) -> None:
    metadata = {
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": split, "path": f"data/{split}-*"} for split in plan.splits],
            }
        ],
        "dataset_info": {
            "features": PACK_FEATURES._to_yaml_list(),
            "splits": [
                {"name": split, "num_examples": info["num_rows"], "num_bytes": info["num_bytes"]}
                for split, info in plan.splits.items()
            ],
        },
        "task_categories": ["image-classification"],
        "tags": ["hf-aidetect", "ai-generated-image-detection"],
    }
    lines = ["| split | real | fake | shards |", "|---|---:|---:|---:|"]
    for split, info in plan.splits.items():
        shards = sum(1 for s in plan.shards if s.split == split)
        lines.append(f"| {split} | {info['counts']['real']} | {info['counts']['fake']} | {shards} |")
    skipped = len(report.bad_images)
    body = (
        "# Real vs fake images, packed by hf-aidetect\n\n"
        "Parquet shards of original image bytes with `label` (0 = real, 1 = fake), `source` (the generator "
        "sub-folder, when the data has one), `split` and a stable `id`. Rows are shuffled before "
        "sharding.\n\n"
        + "\n".join(lines)
        + f"\n\n{skipped} unreadable image(s) were left out (see `{PACK_MANIFEST}`).\n\n"
        "```bash\nhf-aidetect train --config recipes/cnn_seed.yaml --dataset THIS_REPO_OR_FOLDER "
        "--streaming true --max_steps 10000\n```\n"
    )
    front = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True)
    atomic_write_text(out / CARD, f"---\n{front}---\n\n{body}")
