"""Batch fetching: a transformed batch reaches the model as it was built, never split and re-stacked."""

from __future__ import annotations

import pickle

import datasets
import torch
from torch.utils.data import DataLoader

from hf_aidetect.data.loader import BatchFetch, batch_fetch, collate_batches
from hf_aidetect.data.transforms import PreprocessConfig, build_eval_transform, with_detection_transform
from tests.utils import write_rgb_jpeg


def _transformed(tmp_path, n=10):
    paths = [write_rgb_jpeg(tmp_path / f"{i}.jpg", size=40, seed=i) for i in range(n)]
    base = datasets.Dataset.from_dict({"image": [str(p) for p in paths], "label": [i % 2 for i in range(n)]})
    base = base.cast_column("image", datasets.Image())
    return with_detection_transform(base, build_eval_transform(PreprocessConfig(image_size=16)))


class CountingTransform:
    def __init__(self):
        self.calls: list[int] = []

    def __call__(self, batch):
        self.calls.append(len(batch["x"]))
        return {"pixel_values": torch.tensor(batch["x"], dtype=torch.float32)[:, None], "labels": batch["y"]}


def test_batches_equal_the_per_example_path(tmp_path):
    dataset = _transformed(tmp_path)
    fetched = list(DataLoader(batch_fetch(dataset), batch_size=4, collate_fn=collate_batches))
    per_example = list(DataLoader(dataset, batch_size=4, collate_fn=collate_batches))
    assert [len(b["labels"]) for b in fetched] == [4, 4, 2]
    for a, b in zip(fetched, per_example):
        assert torch.equal(a["pixel_values"], b["pixel_values"]) and torch.equal(a["labels"], b["labels"])


def test_one_transform_call_per_batch_and_lists_become_tensors():
    transform = CountingTransform()
    dataset = datasets.Dataset.from_dict({"x": list(range(6)), "y": [0, 1] * 3}).with_transform(transform)
    batches = list(DataLoader(batch_fetch(dataset), batch_size=4, collate_fn=collate_batches))
    assert transform.calls == [4, 2]
    assert batches[0]["labels"].dtype == torch.int64 and batches[0]["labels"].tolist() == [0, 1, 0, 1]


def test_only_transformed_datasets_are_wrapped_and_the_wrapper_pickles(tmp_path):
    plain = datasets.Dataset.from_dict({"x": [1, 2]})
    assert batch_fetch(plain) is plain
    assert batch_fetch([1, 2]) == [1, 2]
    wrapped = batch_fetch(_transformed(tmp_path, n=2))
    assert (
        isinstance(wrapped, BatchFetch) and len(wrapped) == 2 and wrapped.column_names == ["image", "label"]
    )
    clone = pickle.loads(pickle.dumps(wrapped))  # what spawned DataLoader workers receive
    assert torch.equal(clone[[0, 1]]["pixel_values"], wrapped[[0, 1]]["pixel_values"])


def test_collate_batches_still_stacks_a_list_of_examples():
    examples = [
        {"pixel_values": torch.zeros(3, 2, 2), "labels": 1},
        {"pixel_values": torch.ones(3, 2, 2), "labels": 0},
    ]
    batch = collate_batches(examples)
    assert batch["pixel_values"].shape == (2, 3, 2, 2) and batch["labels"].tolist() == [1, 0]


def test_detection_trainer_defaults_to_the_batch_collator_with_positional_arguments(tmp_path):
    from transformers import TrainingArguments

    from hf_aidetect.training.trainer import DetectionTrainer

    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none")
    model = torch.nn.Linear(2, 2)
    assert DetectionTrainer(model, args).data_collator is collate_batches
    assert DetectionTrainer(model=model, args=args).data_collator is collate_batches
    mine = lambda batch: batch  # noqa: E731
    assert DetectionTrainer(model, args, mine).data_collator is mine
