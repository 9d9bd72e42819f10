"""Argument dataclasses for the training recipes (read by ``HfArgumentParser`` from YAML + CLI).

``ScriptArguments`` names the data; the data layer's ``PreprocessConfig`` / ``AugmentConfig`` /
``PipelineConfig`` and :class:`ReportArguments` are argument groups of their own attached to it;
``DetectionTrainingArguments`` is ``transformers.TrainingArguments`` with detection defaults and the
trainer options (loss weights, speed switches) grouped; ``ModelArguments`` lives in
:mod:`hf_aidetect.models.arguments`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from transformers import TrainingArguments

from hf_aidetect.data.preprocessing.config import AugmentConfig, PipelineConfig, PreprocessConfig
from hf_aidetect.errors import ConfigError

logger = logging.getLogger(__name__)

CLASS_WEIGHT_MODES = ("none", "auto")
SWITCH_CHOICES = ("auto", "true", "false")


@dataclass
class ScriptArguments:
    """Where the data comes from and how it is split; the preprocessing and report configs ride along.

    ``preprocess`` / ``augment`` / ``pipeline`` (the data layer's configs) and ``report`` are parsed as
    their own argument groups (recipe blocks ``preprocess:``, ``augment:``, ``pipeline:``, ``report:``)
    and attached here by :func:`hf_aidetect.training.config.parse_recipe_args`, so a recipe ``main`` still
    takes ``(script_args, training_args, model_args)``.
    """

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
    max_eval_samples: int | None = field(
        default=None,
        metadata={
            "help": "Cap val + test (a random subset). With --streaming: stream them too and evaluate the "
            "first N rows of each, reading nothing else of them (default there: load them whole, map-style)."
        },
    )
    streaming: bool = field(
        default=False,
        metadata={
            "help": "Stream the train split (datasets streaming) instead of materialising it: Hub "
            "dataset ids, folders / globs of Parquet, Arrow or WebDataset .tar shards (hf-aidetect pack "
            "writes them), save_to_disk folders. Each rank reads disjoint shards; needs --max_steps. See "
            "README 'Streaming'."
        },
    )
    shuffle_buffer: int = field(
        default=1000,
        metadata={
            "help": "With --streaming: rows shuffled together in one block (on top of a per-pass reshuffle "
            "of the shard order); 0 = shard order only. Holds this many undecoded images per loader worker; "
            "a resume mid-stream is exact at any size."
        },
    )
    stream_id_column: str | None = field(
        default=None,
        metadata={
            "help": "With --streaming: integer column holding each row's stable id (default: 'id' when "
            "present, else a hash of the WebDataset key or of the image bytes). Augmentation and the shuffle "
            "are keyed by it."
        },
    )
    log_sample_ids: bool = field(
        default=False,
        metadata={
            "help": "With --streaming: write the sample ids of every training batch, per step and rank, to "
            "OUTPUT_DIR/sample_ids/rank-R.jsonl (audits of sharding, shuffling and resumption)."
        },
    )

    preprocess: PreprocessConfig = field(init=False, default_factory=PreprocessConfig)
    augment: AugmentConfig = field(init=False, default_factory=AugmentConfig)
    pipeline: PipelineConfig = field(init=False, default_factory=PipelineConfig)
    report: ReportArguments = field(init=False, default_factory=lambda: ReportArguments())

    def __post_init__(self) -> None:
        if self.shuffle_buffer < 0:
            raise ConfigError(
                f"--shuffle_buffer must be >= 0 (0: no block shuffle), got {self.shuffle_buffer}."
            )
        for name in ("max_train_samples", "max_eval_samples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"--{name} must be >= 1 (or unset), got {value}.")
        if self.streaming and self.max_train_samples is not None:
            raise ConfigError(
                "--max_train_samples takes a random subset of a materialised train split; a streamed run is "
                "bounded by --max_steps instead: drop --max_train_samples."
            )
        stream_only = [name for name in ("stream_id_column", "log_sample_ids") if getattr(self, name)]
        if stream_only and not self.streaming:
            raise ConfigError(
                f"--{stream_only[0]} applies to streamed training: add --streaming true or drop it."
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


@dataclass
class ReportArguments:
    """What is written after training besides the model (recipe block ``report:``)."""

    evaluate_train: bool = field(
        default=False,
        metadata={"help": "Also evaluate the final model on the train split (train_* in all_results.json)."},
    )
    write_model_card: bool = field(default=True, metadata={"help": "Write README.md."})
    evaluation_report: bool = field(
        default=True,
        metadata={
            "help": "After training, write the evaluation report (metrics at the model's decision rule, "
            "TPR at low FPR, calibration, plots, robustness table, gallery) to OUTPUT_DIR/evaluation/; a "
            "threshold tuned on validation (>= 50 images per class) is folded into the classifier bias."
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
    # -- the model card (README.md, re-rendered by `hf-aidetect push`) --
    license: str | None = field(
        default=None,
        metadata={
            "help": "License of the model for the card metadata, a Hub id: apache-2.0, mit, cc-by-4.0, ..."
        },
    )
    dataset_name: str | None = field(
        default=None,
        metadata={
            "help": "Name of the training data in the card (default: the --dataset folder's name / Hub id)."
        },
    )
    card_widget: list[str] | None = field(
        default=None,
        metadata={
            "help": "Example images for the Hub widget in the card: image paths / URLs, or one number N "
            "for N test images per class (copied into OUTPUT_DIR/widget/ and published with the model)."
        },
    )

    def __post_init__(self) -> None:
        if self.license is not None and (not self.license.strip() or " " in self.license.strip()):
            raise ConfigError(
                f"--license {self.license!r}: give a Hub license id such as apache-2.0, mit or cc-by-4.0."
            )
        widget = self.card_widget
        if isinstance(widget, (str, int)):  # YAML `card_widget: 2` / one path
            widget = [widget]
        self.card_widget = [str(item) for item in widget] if widget else None
        count = self.widget_count()
        if count is not None and not 1 <= count <= 8:
            raise ConfigError(f"--card_widget {count}: give 1 to 8 test images per class (or image paths).")
        for item in self.card_widget if count is None and self.card_widget else []:
            if "://" not in item and not os.path.isfile(os.path.expanduser(item)):
                raise ConfigError(
                    f"--card_widget {item}: no such image file; give image paths, URLs or a count."
                )
        if self.evaluation_target_fpr is not None and not 0.0 <= self.evaluation_target_fpr <= 1.0:
            raise ConfigError(f"--evaluation_target_fpr must be in [0, 1], got {self.evaluation_target_fpr}.")
        if self.robustness_samples < 0:
            raise ConfigError(
                f"--robustness_samples must be >= 0 (0 disables the table), got {self.robustness_samples}."
            )

    def widget_count(self) -> int | None:
        """N when ``--card_widget`` is one number (N test images per class), else None (paths / URLs)."""
        items = self.card_widget or []
        return int(items[0]) if len(items) == 1 and items[0].isdigit() else None


def parse_switch(name: str, value: Any) -> str:
    """A speed switch as ``"auto"``, ``"true"`` or ``"false"`` (YAML booleans accepted)."""
    text = str(value).strip().lower()
    text = {"1": "true", "yes": "true", "on": "true", "0": "false", "no": "false", "off": "false"}.get(
        text, text
    )
    if text not in SWITCH_CHOICES:
        raise ConfigError(f"--{name} takes auto, true or false, got {value!r}.")
    return text


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

    With ``load_best_model_at_end`` (on by default) the run ends with the best checkpoint's exact weights:
    :meth:`~hf_aidetect.training.trainer.DetectionTrainer._load_best_model` reloads them through
    ``from_pretrained`` (the stock reload is lossy for ViT in transformers 5). ``dataloader_num_workers`` /
    ``dataloader_pin_memory`` left unset take the data layer's ``default_dataloader_settings()``.
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

    # -- loss --
    class_weights: str = field(
        default="none",
        metadata={
            "help": "Class-weighted cross-entropy: 'none', 'auto' (inverse train frequency, normalized) or "
            "two weights 'REAL,FAKE' (YAML: a list).",
        },
    )
    # -- speed switches: chosen by timing a few steps of the real model at the run's input size --
    channels_last: str = field(
        default="auto",
        metadata={
            "help": "channels_last weights and batches for convolutional models: 'auto' times a few "
            "training steps both ways at the run's input size and device and keeps the faster (cached "
            "per machine), 'true' / 'false' force it.",
            "choices": list(SWITCH_CHOICES),
        },
    )
    auto_bf16: bool = field(
        default=False,
        metadata={
            "help": "bf16 autocast where the hardware computes bf16 natively (Ampere+ GPU; CPU with "
            "AVX512-BF16 or AMX) and a few timed steps show it is faster; fp32 elsewhere. --bf16 / --fp16 "
            "given explicitly win."
        },
    )
    torch_threads: int | None = field(
        default=None,
        metadata={
            "help": "torch intra-op threads when training on CPU (default: OMP_NUM_THREADS if set, else "
            "cores - data-loader workers, so the workers keep their cores)."
        },
    )
    ddp_find_unused_parameters: bool | None = field(
        default=False, metadata={"help": "DDP: search for unused parameters each step (not needed here)."}
    )
    # -- early stopping (transformers' EarlyStoppingCallback) --
    early_stopping_patience: int | None = field(
        default=None,
        metadata={
            "help": "Stop when --metric_for_best_model has not improved for this many evaluations (the best "
            "checkpoint is kept and restored). Default: train every epoch."
        },
    )
    early_stopping_threshold: float = field(
        default=0.0,
        metadata={"help": "With --early_stopping_patience: the improvement that counts (absolute)."},
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "help": "Train into an --output_dir that already holds a trained model, replacing it (without "
            "this, such a folder is refused unless the run resumes it)."
        },
    )

    def __post_init__(self) -> None:
        self.class_weights = parse_class_weights(self.class_weights)
        self.channels_last = parse_switch("channels_last", self.channels_last)
        if self.torch_threads is not None and self.torch_threads < 1:
            raise ConfigError(
                f"--torch_threads must be >= 1 (or unset for the default), got {self.torch_threads}."
            )
        self._check_early_stopping()
        self._fill_dataloader_defaults()
        if not self.use_cpu and _multi_process_without_accelerator():
            # torchrun / `accelerate launch --multi_gpu` on a CPU-only machine: without use_cpu, accelerate
            # initialises gloo but reports a non-distributed state, so every rank would train alone.
            logger.info("Several processes and no GPU: using CPU data parallelism (gloo).")
            self.use_cpu = True
        super().__post_init__()

    def _check_early_stopping(self) -> None:
        if self.early_stopping_patience is None:
            return
        if self.early_stopping_patience < 1:
            raise ConfigError(f"--early_stopping_patience must be >= 1, got {self.early_stopping_patience}.")
        if self.early_stopping_threshold < 0:
            raise ConfigError(
                f"--early_stopping_threshold must be >= 0, got {self.early_stopping_threshold}."
            )
        if not self.metric_for_best_model or not self.load_best_model_at_end:
            raise ConfigError(
                "--early_stopping_patience needs --metric_for_best_model and --load_best_model_at_end true "
                "(it stops on the metric that picks the best checkpoint)."
            )
        if str(self.eval_strategy) in ("no", "IntervalStrategy.NO"):
            raise ConfigError(
                "--early_stopping_patience needs evaluations: set --eval_strategy epoch or steps."
            )

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

    def bf16_candidate(self) -> bool:
        """Whether bf16 may be chosen: ``--auto_bf16`` without an explicit ``--bf16`` / ``--fp16``."""
        return self.auto_bf16 and not (self.bf16 or self.fp16)

    def use_bf16(self) -> None:
        """Switch bf16 autocast on after parsing (the speed switch chose it)."""
        self.bf16 = True
        self.mixed_precision = "bf16"
        if self.device.type == "cpu":
            self.use_cpu = True  # accelerate autocasts CPU bf16 only with cpu=True

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
    """The data layer's data-loader defaults (``dataloader_*`` keys)."""
    from hf_aidetect.data.loader import default_dataloader_settings

    return dict(default_dataloader_settings())
