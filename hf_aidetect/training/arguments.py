"""Argument dataclasses for the training recipes (read by ``HfArgumentParser`` from YAML + CLI).

``ScriptArguments`` holds the data / augmentation / loss options, ``DetectionTrainingArguments`` is
``transformers.TrainingArguments`` with detection defaults, and ``ModelArguments`` (MODELS helper) lives in
:mod:`hf_aidetect.models.arguments`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from transformers import TrainingArguments

from hf_aidetect.errors import ConfigError

logger = logging.getLogger(__name__)

CLASS_WEIGHT_MODES = ("none", "auto")


@dataclass
class ScriptArguments:
    """Where the data comes from, how it is split and augmented, and how the loss weighs the classes."""

    dataset: str | None = field(
        default=None,
        metadata={"help": "Dataset folder / archive / Hub dataset id. Required."},
    )
    dataset_revision: str | None = field(default=None, metadata={"help": "Hub dataset revision."})
    validation_size: float = field(
        default=0.1, metadata={"help": "Validation fraction carved from train when the source has no split."}
    )
    test_size: float = field(
        default=0.1, metadata={"help": "Test fraction carved from train when the source has no test split."}
    )
    split_seed: int = field(default=42, metadata={"help": "Seed of the stratified split."})
    image_column: str = field(default="image", metadata={"help": "Image column of a Hub / tabular dataset."})
    label_column: str = field(default="label", metadata={"help": "Label column of a Hub / tabular dataset."})
    source_column: str | None = field(
        default=None,
        metadata={"help": "Column naming each image's generator."},
    )
    bad_images: str = field(
        default="skip",
        metadata={"help": "What to do with undecodable images.", "choices": ["skip", "error"]},
    )
    validate_images: bool = field(default=True, metadata={"help": "Decode every image once before training."})
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Use a random subset of this many train images (quick runs)."}
    )
    max_eval_samples: int | None = field(default=None, metadata={"help": "Cap val + test."})
    augment: bool = field(default=True, metadata={"help": "Train-time augmentation."})
    crop_scale: list[float] = field(
        default_factory=lambda: [0.6, 1.0],
        metadata={"help": "Random resized crop area range, two floats in (0, 1]."},
    )
    hflip_prob: float = field(default=0.5, metadata={"help": "Horizontal flip probability."})
    jpeg_prob: float = field(default=0.0, metadata={"help": "Probability of a random JPEG re-compression."})
    jpeg_quality: list[int] = field(
        default_factory=lambda: [60, 95], metadata={"help": "JPEG quality range, two ints in [1, 100]."}
    )
    blur_prob: float = field(default=0.0, metadata={"help": "Probability of a random Gaussian blur."})
    blur_sigma: list[float] = field(
        default_factory=lambda: [0.1, 1.5], metadata={"help": "Gaussian blur sigma range, two floats."}
    )
    class_weights: str = field(
        default="none",
        metadata={
            "help": "Class-weighted cross-entropy: 'none', 'auto' (inverse train frequency, normalized) or "
            "two weights 'REAL,FAKE' (YAML: a list).",
        },
    )
    evaluate_train: bool = field(
        default=False,
        metadata={"help": "Also evaluate the final model on the train split (train_* in all_results.json)."},
    )
    write_model_card: bool = field(default=True, metadata={"help": "Write README.md."})
    evaluation_report: bool = field(
        default=True,
        metadata={
            "help": "After training, write the evaluation report (metrics at a threshold tuned on "
            "validation, plots, robustness table, gallery) to OUTPUT_DIR/evaluation/ and save the "
            "threshold as fake_threshold in config.json."
        },
    )
    evaluation_target_fpr: float | None = field(
        default=None,
        metadata={
            "help": "Tune the threshold for the highest fake recall with false-positive rate <= this "
            "(default: max balanced accuracy)."
        },
    )
    robustness_samples: int = field(
        default=2000,
        metadata={
            "help": "Test images (a seeded subset) scored under each robustness perturbation; 0: no table."
        },
    )

    torch_threads: int | None = field(
        default=None,
        metadata={
            "help": "torch intra-op threads when training on CPU (default: OMP_NUM_THREADS if set, else "
            "cores - data-loader workers, so the workers keep their cores)."
        },
    )
    preresize_cache: bool = field(
        default=False,
        metadata={
            "help": "Decode + resize every image once into a memory-mapped Arrow cache "
            "(--preresize_cache_dir), then augment with torch ops only: faster multi-epoch runs, "
            "~side*side*3 bytes of disk per image."
        },
    )
    preresize_cache_dir: str | None = field(
        default=None,
        metadata={
            "help": "Folder of the --preresize_cache (default: HF_DATASETS_CACHE/hf_aidetect_preresize, "
            "i.e. under HF_HOME); reused across runs on the same data and image size."
        },
    )
    device_preprocessing: bool | None = field(
        default=None,
        metadata={
            "help": "The loader ships uint8 pixels and the training device (GPU, or the CPU training "
            "process) finishes them batched: with --preresize_cache crop / flip / blur / normalise (on "
            "CPU the loader then needs no workers), without it normalisation only. JPEG re-compression "
            "(PIL) stays in the loader. Default: on when training on a GPU, off on CPU."
        },
    )
    channels_last: bool = field(
        default=False,
        metadata={"help": "channels_last weights for convolutional models (faster convolutions on GPU)."},
    )

    def __post_init__(self) -> None:
        self.class_weights = parse_class_weights(self.class_weights)
        for name, low, high in (
            ("crop_scale", 0.0, 1.0),
            ("jpeg_quality", 1, 100),
            ("blur_sigma", 0.0, 100.0),
        ):
            value = list(getattr(self, name))
            if len(value) != 2 or not low <= value[0] <= value[1] <= high:
                raise ConfigError(f"--{name} needs two increasing numbers in [{low}, {high}], got {value}.")
            setattr(self, name, value)
        for name in ("hflip_prob", "jpeg_prob", "blur_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"--{name} is a probability in [0, 1], got {getattr(self, name)}.")
        if self.evaluation_target_fpr is not None and not 0.0 <= self.evaluation_target_fpr <= 1.0:
            raise ConfigError(f"--evaluation_target_fpr must be in [0, 1], got {self.evaluation_target_fpr}.")
        if self.robustness_samples < 0:
            raise ConfigError(
                f"--robustness_samples must be >= 0 (0 disables the table), got {self.robustness_samples}."
            )
        self._check_fast_path()

    def _check_fast_path(self) -> None:
        """Reject fast-path switch combinations that cannot do what they say."""
        if self.torch_threads is not None and self.torch_threads < 1:
            raise ConfigError(
                f"--torch_threads must be >= 1 (or unset for the default), got {self.torch_threads}."
            )

    def augment_config(self) -> Any:
        """The data layer's ``AugmentConfig`` for these options (``None`` when ``--no_augment``)."""
        from hf_aidetect.data.transforms import AugmentConfig

        if not self.augment:
            return None
        return AugmentConfig(
            crop_scale=tuple(self.crop_scale),
            hflip_prob=self.hflip_prob,
            jpeg_prob=self.jpeg_prob,
            jpeg_quality=tuple(self.jpeg_quality),
            blur_prob=self.blur_prob,
            blur_sigma=tuple(self.blur_sigma),
        )

    def dataset_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``load_detection_dataset`` (besides the source)."""
        kwargs: dict[str, Any] = {
            "validation_size": self.validation_size,
            "test_size": self.test_size,
            "seed": self.split_seed,
            "image_column": self.image_column,
            "label_column": self.label_column,
            "source_column": self.source_column,
            "bad_images": self.bad_images,
            "validate": self.validate_images,
        }
        if self.dataset_revision is not None:
            kwargs["revision"] = self.dataset_revision
        return kwargs


def parse_class_weights(value: Any) -> str | list[float]:
    """Normalize ``class_weights``: 'none' / 'auto' stay, 'a,b' or [a, b] become two positive floats."""
    if value is None:
        return "none"
    if isinstance(value, str):
        text = value.strip().lower()
        if text in CLASS_WEIGHT_MODES:
            return text
        value = [part for part in text.replace("[", "").replace("]", "").split(",") if part.strip()]
    try:
        weights = [float(item) for item in value]
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"--class_weights must be 'none', 'auto' or two numbers 'REAL,FAKE', got {value!r}."
        ) from error
    if len(weights) != 2 or min(weights) <= 0:
        raise ConfigError(f"--class_weights needs two positive weights (real, fake), got {weights}.")
    return weights


@dataclass
class DetectionTrainingArguments(TrainingArguments):
    """``TrainingArguments`` with detection defaults: epoch-wise eval/save, best by validation ROC-AUC.

    ``load_best_model_at_end`` expresses intent only: :func:`hf_aidetect.training.train` always ends with the
    best checkpoint's exact weights, reloaded through ``from_pretrained`` (the Trainer's own reload is lossy
    for ViT in transformers 5). ``dataloader_num_workers`` / ``dataloader_pin_memory`` left unset take the
    data layer's ``default_dataloader_settings()``.
    """

    eval_strategy: str = field(default="epoch", metadata={"help": "no / steps / epoch."})
    save_strategy: str = field(default="epoch", metadata={"help": "no / steps / epoch."})
    logging_steps: float = field(default=10, metadata={"help": "Log the train loss every N update steps."})
    load_best_model_at_end: bool = field(
        default=True,
        metadata={"help": "End with the best checkpoint's weights."},
    )
    metric_for_best_model: str | None = field(
        default="roc_auc", metadata={"help": "Validation metric that picks the best checkpoint."}
    )
    greater_is_better: bool | None = field(
        default=True, metadata={"help": "Whether a larger --metric_for_best_model is better."}
    )
    save_total_limit: int | None = field(
        default=2, metadata={"help": "Checkpoints kept on disk (the best one is always kept)."}
    )
    remove_unused_columns: bool = field(
        default=False, metadata={"help": "Keep the 'image' column: transforms run lazily via with_transform."}
    )
    dataloader_num_workers: int | None = field(
        default=None, metadata={"help": "Data-loader worker processes (default: the data layer's choice)."}
    )
    dataloader_pin_memory: bool | None = field(
        default=None, metadata={"help": "Pin host memory (default: the data layer's choice, on for CUDA)."}
    )

    auto_bf16: bool = field(
        default=False,
        metadata={
            "help": "bf16 autocast where the hardware computes bf16 natively (Ampere+ GPU; CPU with "
            "AVX512-BF16 or AMX), fp32 elsewhere. --bf16 / --fp16 given explicitly win."
        },
    )
    ddp_find_unused_parameters: bool | None = field(
        default=False, metadata={"help": "DDP: search for unused parameters each step (not needed here)."}
    )

    def __post_init__(self) -> None:
        self._fill_dataloader_defaults()
        self._resolve_auto_bf16()
        if not self.use_cpu and _multi_process_without_accelerator():
            # torchrun / `accelerate launch --multi_gpu` on a CPU-only machine: without use_cpu, accelerate
            # initialises gloo but reports a non-distributed state, so every rank would train alone.
            logger.info("Several processes and no GPU: using CPU data parallelism (gloo).")
            self.use_cpu = True
        super().__post_init__()

    def _fill_dataloader_defaults(self) -> None:
        settings = _default_dataloader_settings()
        self.dataloader_workers_defaulted = self.dataloader_num_workers is None
        if self.dataloader_num_workers is None:
            self.dataloader_num_workers = int(settings.get("dataloader_num_workers", 0))
            if self.dataloader_num_workers > 0:
                self.dataloader_persistent_workers = self.dataloader_persistent_workers or bool(
                    settings.get("dataloader_persistent_workers", False)
                )
                if self.dataloader_prefetch_factor is None:
                    self.dataloader_prefetch_factor = settings.get("dataloader_prefetch_factor")
        if self.dataloader_pin_memory is None:
            self.dataloader_pin_memory = bool(settings.get("dataloader_pin_memory", False))

    def _resolve_auto_bf16(self) -> None:
        if not self.auto_bf16 or self.bf16 or self.fp16:
            return
        import torch

        from hf_aidetect.training.acceleration import native_bf16

        on_gpu = not self.use_cpu and torch.cuda.is_available()
        if native_bf16("cuda" if on_gpu else "cpu"):
            self.bf16 = True
            self.use_cpu = self.use_cpu or not on_gpu  # transformers wants CPU bf16 spelled out
            logger.info("--auto_bf16: bf16 autocast (native on this %s).", "GPU" if on_gpu else "CPU")
        else:
            logger.info("--auto_bf16: fp32 (no native bf16 on this %s).", "GPU" if on_gpu else "CPU")

    def load_in_main_process(self, why: str) -> None:
        """Drop the *default* loader workers (never ones the user set) when the loader's work is trivial."""
        if not getattr(self, "dataloader_workers_defaulted", False) or not self.dataloader_num_workers:
            return
        logger.info("0 data-loader workers (%s); --dataloader_num_workers N overrides.", why)
        self.dataloader_num_workers = 0
        self.dataloader_persistent_workers = False
        self.dataloader_prefetch_factor = None


def _multi_process_without_accelerator() -> bool:
    import torch

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    has_xpu = hasattr(torch, "xpu") and torch.xpu.is_available()
    return not (torch.cuda.is_available() or has_xpu)


def _default_dataloader_settings() -> dict[str, Any]:
    """The data layer's data-loader defaults (``dataloader_*`` keys); no workers if it cannot say."""
    try:
        from hf_aidetect.data import default_dataloader_settings
    except ImportError:
        logger.debug("hf_aidetect.data.default_dataloader_settings unavailable; using 0 workers.")
        return {"dataloader_num_workers": 0, "dataloader_pin_memory": False}
    return dict(default_dataloader_settings())
