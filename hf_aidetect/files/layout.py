"""The output-folder contract: the name of every file hf_aidetect writes or reads in its output folders.

One owner for the names, imported by training (which writes a run folder), inference (which reads a model
folder and writes report folders), publishing (which renders the card from a run folder and uploads it),
the sweeps and the cross-generator protocol. Nothing here touches the disk.

A training ``OUTPUT_DIR``::

    config.json  model.safetensors  preprocessor_config.json     the model (transformers' own names)
    all_results.json  {train,validation,test}_results.json        final metrics (flat)
    trainer_state.json  epoch_metrics.csv  data_summary.json      history, one row per epoch, the data
    speed_switches.json                                           switches the run chose (reused on resume)
    model_card_data.json  README.md                               card inputs, the card
    evaluation/{metrics.json,report.md,scores.csv,robustness.md,...}   the evaluation report
    widget/                                                       the card widget's example images
    onnx/{model.onnx,model_quantized.onnx,config.json,preprocessor_config.json,export_report.json}
                                                                  `hf-aidetect export` (the Hub's place)
    checkpoint-N/                                                 complete checkpoints only
"""

from __future__ import annotations

# -- the model (transformers' names) -------------------------------------------------------------------
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"
LEGACY_WEIGHTS = "pytorch_model.bin"
PREPROCESSOR_CONFIG = "preprocessor_config.json"
PROCESSOR_CONFIG = "processor_config.json"
TRAINING_ARGS = "training_args.bin"
CHECKPOINT_PREFIX = "checkpoint"  # checkpoint-<step>, transformers' PREFIX_CHECKPOINT_DIR

# -- what a training run adds ----------------------------------------------------------------------------
TRAINER_STATE = "trainer_state.json"
ALL_RESULTS = "all_results.json"
EPOCH_METRICS = "epoch_metrics.csv"
DATA_SUMMARY = "data_summary.json"
SPEED_SWITCHES = "speed_switches.json"
CARD_DATA = "model_card_data.json"
MODEL_CARD = "README.md"
EVALUATION_DIR = "evaluation"
WIDGET_DIR = "widget"  # --card_widget example images

# -- an evaluation report folder (OUTPUT_DIR/evaluation, or `hf-aidetect evaluate --output-dir`) ---------
REPORT_METRICS = "metrics.json"
REPORT_MARKDOWN = "report.md"
SCORES = "scores.csv"
ROBUSTNESS_MARKDOWN = "robustness.md"
ROBUSTNESS_JSON = "robustness.json"
GALLERY = "gallery.png"
# Several sets evaluated at once: one row per set.
SUMMARY_MARKDOWN = "summary.md"
SUMMARY_JSON = "summary.json"

# -- a LoRA run's adapter form (--lora_save adapter) and a streaming run's per-rank checkpoint state -------
ADAPTER_DIR = "adapter"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
STREAM_STATE = "stream_state-rank-{rank}.json"  # in checkpoint-N/, one per process
SAMPLE_LOG_DIR = "sample_ids"

# -- the ONNX export (OUTPUT_DIR/onnx, or `hf-aidetect export --output-dir`): beside config + preprocessor
ONNX_DIR = "onnx"  # where a model folder / Hub repo keeps its export (the Hub's convention)
ONNX_MODEL = "model.onnx"
ONNX_QUANTIZED = "model_quantized.onnx"
EXPORT_REPORT = "export_report.json"

# -- a sweep's output root, a cross-generator folder, the demo folder ------------------------------------
SWEEP_POINT = "sweep_point.json"
SWEEP_RESULTS_CSV = "results.csv"
SWEEP_RESULTS_MARKDOWN = "results.md"
SWEEP_SUMMARY = "sweep_summary.json"
OPTUNA_TRIALS_CSV = "trials.csv"
POINT_LOG = "train.log"
CROSS_GENERATOR_MARKDOWN = "cross_generator.md"
CROSS_GENERATOR_CSV = "cross_generator.csv"
CROSS_GENERATOR_JSON = "cross_generator.json"
DEMO_RESULTS_MARKDOWN = "results.md"
DEMO_RESULTS_JSON = "results.json"

# What a finished (or saved) run leaves at the top of OUTPUT_DIR: any of these means a model is there.
RUN_OUTPUTS = (
    CONFIG,
    WEIGHTS,
    WEIGHTS_INDEX,
    LEGACY_WEIGHTS,
    TRAINER_STATE,
    ALL_RESULTS,
    EPOCH_METRICS,
    TRAINING_ARGS,
    MODEL_CARD,
)


def split_results(split: str) -> str:
    """``<split>_results.json``: one split's metrics (``train`` / ``validation`` / ``test``)."""
    return f"{split}_results.json"


def evaluation_file(name: str) -> str:
    """A report file's path relative to the run folder, e.g. ``evaluation/metrics.json``."""
    return f"{EVALUATION_DIR}/{name}"
