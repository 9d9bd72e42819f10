"""The stock recipe, written the way the transformers image-classification docs describe it.

``load_dataset("imagefolder")`` + ``AutoImageProcessor`` + ``with_transform`` + ``Trainer`` with its defaults
(0 data-loader workers). Without torchvision, ``AutoImageProcessor`` gives the ViT processor's PIL backend
(``ViTImageProcessorPil``). Nothing here uses hf_aidetect: it is the baseline the benchmarks compare with.
Usage: ``python -m benchmarks.stock_recipe --data DIR --model DIR --output_dir DIR [--epochs N]``, where
``--model`` is a local checkpoint folder (config + weights + preprocessor_config.json).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np


def load_imagefolder(data_dir: str | Path) -> Any:
    """``load_dataset("imagefolder", data_dir=...)`` -> DatasetDict with the folder's splits."""
    from datasets import load_dataset

    return load_dataset("imagefolder", data_dir=str(data_dir))


def make_transform(processor: Any) -> Any:
    """The docs' batch transform: the image processor on the PIL images, labels passed through."""

    def transform(example_batch: dict[str, list[Any]]) -> dict[str, Any]:
        inputs = processor([image.convert("RGB") for image in example_batch["image"]], return_tensors="pt")
        if "label" in example_batch:
            inputs["labels"] = example_batch["label"]
        return inputs

    return transform


def collate_fn(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """The docs' collator: stack pixel_values, tensor of labels."""
    import torch

    return {
        "pixel_values": torch.stack([x["pixel_values"] for x in batch]),
        "labels": torch.tensor([x["labels"] for x in batch]),
    }


def fake_scores_metrics(logits: np.ndarray, label_ids: np.ndarray, names: list[str]) -> dict[str, float]:
    """Test ROC-AUC and average precision of P(fake), fake the positive class.

    imagefolder numbers classes alphabetically (``fake`` = 0, ``real`` = 1), the reverse of hf_aidetect's
    real = 0 / fake = 1, so the fake column and the positives are looked up by name.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    fake = names.index("fake")
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    p_fake = shifted[:, fake] / shifted.sum(axis=1)
    is_fake = (np.asarray(label_ids) == fake).astype(int)
    if is_fake.min() == is_fake.max():  # one class only: the scores are undefined
        return {"test_roc_auc": float("nan"), "test_average_precision": float("nan")}
    return {
        "test_roc_auc": float(roc_auc_score(is_fake, p_fake)),
        "test_average_precision": float(average_precision_score(is_fake, p_fake)),
    }


def _compute_metrics(eval_pred: Any) -> dict[str, float]:
    predictions = np.argmax(eval_pred.predictions, axis=1)
    return {"accuracy": float((predictions == eval_pred.label_ids).mean())}


def train_stock(
    data_dir: str | Path,
    model_dir: str | Path,
    output_dir: str | Path,
    *,
    epochs: float = 3,
    batch_size: int = 32,
    learning_rate: float = 5e-5,
    seed: int = 42,
    **training_kwargs: Any,
) -> dict[str, Any]:
    """Fine-tune ``model_dir`` on ``data_dir`` (train/validation/test); wall time, test accuracy, ROC-AUC."""
    from transformers import AutoImageProcessor, AutoModelForImageClassification, Trainer, TrainingArguments

    start = time.perf_counter()
    dataset = load_imagefolder(data_dir)
    processor = AutoImageProcessor.from_pretrained(str(model_dir))
    labels = dataset["train"].features["label"].names
    model = AutoModelForImageClassification.from_pretrained(
        str(model_dir),
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
        ignore_mismatched_sizes=True,
        trust_remote_code=True,  # a checkpoint that ships its modeling code (our CNN) loads like a Hub one
    )
    prepared = dataset.with_transform(make_transform(processor))
    eval_split = "validation" if "validation" in prepared else "test"
    args = TrainingArguments(
        output_dir=str(output_dir),
        remove_unused_columns=False,
        eval_strategy="epoch",
        save_strategy="epoch",
        learning_rate=learning_rate,
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size,
        num_train_epochs=epochs,
        logging_steps=10,
        load_best_model_at_end=True,
        metric_for_best_model="accuracy",
        save_total_limit=1,
        seed=seed,
        report_to="none",
        use_cpu=not _cuda(),
        **training_kwargs,
    )
    trainer = Trainer(
        model=model,
        args=args,
        data_collator=collate_fn,
        compute_metrics=_compute_metrics,
        train_dataset=prepared["train"],
        eval_dataset=prepared[eval_split],
        processing_class=processor,
    )
    train_result = trainer.train()
    test = trainer.predict(prepared["test"], metric_key_prefix="test")
    trainer.save_model()
    result = {
        "wall_s": round(time.perf_counter() - start, 1),
        "train_runtime_s": round(float(train_result.metrics.get("train_runtime", float("nan"))), 1),
        "test_accuracy": float(test.metrics["test_accuracy"]),
        **fake_scores_metrics(test.predictions, test.label_ids, labels),
        "label_names": labels,
    }
    (Path(output_dir) / "stock_results.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="folder with train/ validation/ test/ class folders")
    parser.add_argument("--model", required=True, help="local checkpoint folder")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--optim", default="adamw_torch")
    parser.add_argument("--optim_args", default="")
    parser.add_argument("--weight_decay", type=float, default=0.0)
    parser.add_argument("--lr_scheduler_type", default="linear")
    parser.add_argument("--warmup_steps", type=float, default=0)
    parser.add_argument("--max_grad_norm", type=float, default=1.0)
    args = parser.parse_args(argv)
    result = train_stock(
        args.data,
        args.model,
        args.output_dir,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        optim=args.optim,
        optim_args=args.optim_args or None,
        weight_decay=args.weight_decay,
        lr_scheduler_type=args.lr_scheduler_type,
        max_grad_norm=args.max_grad_norm,
        warmup_steps=int(args.warmup_steps) if args.warmup_steps >= 1 else args.warmup_steps,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
