"""Our recipe with the pre-resize cache switched on: what a ``--preresize_cache`` flag would do.

Runs ``recipes/finetune_cnn.py`` (or ``--recipe_script``) unchanged except that the training runner's
transform step builds the splits with :func:`hf_aidetect.data.cache.apply_preresize_cache` (decode +
resize once into ``$HF_AIDETECT_CACHE_DIR``, then torch-only crops / flips / normalisation). Usage:
``HF_AIDETECT_CACHE_DIR=DIR python -m benchmarks.cached_recipe --config recipes/demo_cnn.yaml ...``.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def with_cached_transforms(dataset: Any, processor: Any, script_args: Any) -> Any:
    """Drop-in for ``hf_aidetect.training.runner._with_transforms`` backed by the pre-resize cache."""
    from hf_aidetect.data.cache import apply_preresize_cache, build_cached_eval_transform
    from hf_aidetect.data.transforms import PreprocessConfig

    preprocess = PreprocessConfig.from_image_processor(processor)
    cache_dir = os.environ.get("HF_AIDETECT_CACHE_DIR") or str(REPO / ".cache" / "preresize")
    splits = apply_preresize_cache(
        dataset, preprocess, cache_dir, augment=script_args.augment_config(), num_proc=os.cpu_count()
    )
    cached_train = splits["train"].with_transform(build_cached_eval_transform(preprocess))
    splits["train_eval"] = cached_train
    return splits


def main() -> None:
    import hf_aidetect.training.runner as runner

    runner._with_transforms = with_cached_transforms
    script = REPO / "recipes" / "finetune_cnn.py"
    if "--recipe_script" in sys.argv:
        at = sys.argv.index("--recipe_script")
        script = Path(sys.argv[at + 1])
        del sys.argv[at : at + 2]
    sys.argv[0] = str(script)
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
