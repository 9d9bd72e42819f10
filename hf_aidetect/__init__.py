"""hf_aidetect: fine-tune, evaluate, explain and publish detectors of AI-generated face images (real = 0,
fake = 1) on the Hugging Face stack: datasets, transformers' Trainer, accelerate, evaluate, the Hub.

Every name below is imported on first use, so ``import hf_aidetect`` is instant; it also makes saved seed
CNNs load through the Auto classes / ``pipeline()`` without ``trust_remote_code`` in this process.

Train (a recipe by name or path, a dict, or the parsed argument groups)::

    import hf_aidetect
    results = hf_aidetect.train("demo_cnn", dataset="data/demo", output_dir="runs/cnn")
    hf_aidetect.list_recipes()                       # the shipped recipes (``hf-aidetect recipes``)

Step by step, as with transformers::

    dataset = hf_aidetect.load_detection_dataset("real_vs_fake/")        # DatasetDict train/validation/test
    model, processor = hf_aidetect.build_model(hf_aidetect.ModelArguments(model_type="seed_cnn"))
    script, training, model_args = hf_aidetect.parse_dict_args({...})   # or parse_recipe_args(argv)
    trainer = hf_aidetect.build_trainer(script, training, model_args).trainer   # a DetectionTrainer
    trainer.train()

Use a trained model::

    detector = hf_aidetect.load_detector("runs/cnn")
    rows = list(hf_aidetect.predict_files(detector, ["face.jpg"]))      # label, fake_score per file
    hf_aidetect.push_to_hub("runs/cnn", "you/seed-cnn-faces")

Data: load_detection_dataset, summarize_dataset, create_transforms, prepare_splits, REAL, FAKE, ID2LABEL,
LABEL2ID. Models: ModelArguments, build_model, count_parameters, SeedCNNConfig,
SeedCNNForImageClassification. Training: train, parse_recipe_args, parse_dict_args, build_trainer,
DetectionTrainer, DetectionTrainingArguments, ScriptArguments, build_compute_metrics, list_recipes,
recipe_path. Inference: load_detector, predict_files, evaluate_model, explain_image. Publishing:
push_to_hub. Errors: AIDetectError (every user mistake; one line, naming the file or flag).
"""

from __future__ import annotations

from hf_aidetect import _registration
from hf_aidetect._lazy import lazy_dir, lazy_getattr

__version__ = "0.1.0"

_LAZY_ATTRIBUTES = {
    # data
    "load_detection_dataset": "hf_aidetect.data.loading",
    "summarize_dataset": "hf_aidetect.data.report",
    "create_transforms": "hf_aidetect.data.preprocessing",
    "prepare_splits": "hf_aidetect.data.preprocessing",
    **dict.fromkeys(("REAL", "FAKE", "ID2LABEL", "LABEL2ID"), "hf_aidetect.data.labels"),
    # models
    "ModelArguments": "hf_aidetect.models.arguments",
    "build_model": "hf_aidetect.models.factory",
    "count_parameters": "hf_aidetect.models.factory",
    "SeedCNNConfig": "hf_aidetect.models.seed_cnn.configuration_seed_cnn",
    "SeedCNNForImageClassification": "hf_aidetect.models.seed_cnn.modeling_seed_cnn",
    # training
    "train": "hf_aidetect.training.api",
    "build_trainer": "hf_aidetect.training.runner",
    "parse_recipe_args": "hf_aidetect.training.config",
    "parse_dict_args": "hf_aidetect.training.config",
    "DetectionTrainer": "hf_aidetect.training.trainer",
    "DetectionTrainingArguments": "hf_aidetect.training.arguments",
    "ScriptArguments": "hf_aidetect.training.arguments",
    "build_compute_metrics": "hf_aidetect.metrics",
    "list_recipes": "hf_aidetect.recipes",
    "recipe_path": "hf_aidetect.recipes",
    # inference and publishing
    "load_detector": "hf_aidetect.inference.loading",
    "predict_files": "hf_aidetect.inference.predict",
    "evaluate_model": "hf_aidetect.inference.evaluation",
    "explain_image": "hf_aidetect.inference.explain",
    "push_to_hub": "hf_aidetect.publishing.push",
    "AIDetectError": "hf_aidetect.errors",
}

__all__ = ["__version__", *_LAZY_ATTRIBUTES]

__getattr__ = lazy_getattr(__name__, _LAZY_ATTRIBUTES)
__dir__ = lazy_dir(globals(), _LAZY_ATTRIBUTES)

_registration.install()  # the seed CNN joins the Auto classes when (or as soon as) transformers loads them
