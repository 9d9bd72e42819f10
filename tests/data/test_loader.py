"""Keyed sampling and whole-batch fetching: resumable augmentation draws, batches never re-stacked."""

from __future__ import annotations

import pickle

import datasets
import torch
from torch.utils.data import BatchSampler, DataLoader

from hf_aidetect.data.loader import KeyedSampler, PreprocessedSplit, collate_batches
from hf_aidetect.data.preprocessing import AugmentConfig, InputSpec, create_transforms, prepare_splits
from tests.utils import write_rgb_jpeg


class RecordingTransform:
    """Returns the keys it was given, so the tests see what the loader passed."""

    def __init__(self):
        self.calls: list[int] = []

    def __call__(self, batch, keys):
        self.calls.append(len(batch["x"]))
        epochs, indices = keys
        return {
            "x": torch.tensor(batch["x"]),
            "epoch": torch.as_tensor(epochs),
            "index": torch.as_tensor(indices),
        }


def _rows(n=10):
    return datasets.Dataset.from_dict({"x": list(range(100, 100 + n))})


def test_keyed_sampler_shuffles_per_epoch_and_encodes_the_epoch():
    sampler = KeyedSampler(10, seed=3)
    first = list(sampler)
    assert sorted(first) == list(range(10))
    sampler.set_epoch(2)
    second = list(sampler)
    assert sorted(k - 20 for k in second) == list(range(10)) and [k - 20 for k in second] != first
    again = KeyedSampler(10, seed=3)  # another process / a resumed run: the same permutation
    again.set_epoch(2)
    assert list(again) == second
    assert list(KeyedSampler(4, shuffle=False)) == [0, 1, 2, 3]


def test_preprocessed_split_passes_keys_and_transforms_each_batch_once():
    transform = RecordingTransform()
    split = PreprocessedSplit(_rows(), transform)
    sampler = KeyedSampler(10, seed=0)
    sampler.set_epoch(1)
    batches = list(
        DataLoader(split, batch_sampler=BatchSampler(sampler, 4, False), collate_fn=collate_batches)
    )
    assert transform.calls[-3:] == [4, 4, 2]
    for batch in batches:
        assert (batch["epoch"] == 1).all()
        assert torch.equal(batch["x"], batch["index"] + 100)
    assert split[3]["x"] == 103 and split[13]["epoch"] == 1


def test_loader_workers_give_the_same_augmented_batches(tmp_path):
    paths = [write_rgb_jpeg(tmp_path / f"{i}.jpg", size=(40, 30), seed=i) for i in range(8)]
    rows = datasets.Dataset.from_dict({"image": [str(p) for p in paths], "label": [0, 1] * 4})
    rows = rows.cast_column("image", datasets.Image())
    transforms = create_transforms(InputSpec(size=16), augment=AugmentConfig(jpeg_prob=0.5), seed=1)
    train = prepare_splits(datasets.DatasetDict(train=rows), transforms)["train"]

    def run(workers: int) -> list[torch.Tensor]:
        sampler = KeyedSampler(len(train), seed=0)
        sampler.set_epoch(1)
        loader = DataLoader(
            train, sampler=sampler, batch_size=4, num_workers=workers, collate_fn=collate_batches
        )
        return [batch["pixel_values"] for batch in loader]

    in_process, two_workers = run(0), run(2)
    assert all(torch.equal(a, b) for a, b in zip(in_process, two_workers))
    clone = pickle.loads(pickle.dumps(train))  # what spawned workers receive
    assert torch.equal(clone.__getitems__([1, 2])["pixel_values"], train.__getitems__([1, 2])["pixel_values"])


def test_collate_batches_still_stacks_a_list_of_examples():
    examples = [
        {"pixel_values": torch.zeros(3, 2, 2), "labels": 1},
        {"pixel_values": torch.ones(3, 2, 2), "labels": 0},
    ]
    batch = collate_batches(examples)
    assert batch["pixel_values"].shape == (2, 3, 2, 2) and batch["labels"].tolist() == [1, 0]
    as_dict = collate_batches({"labels": [1, 0], "pixel_values": torch.zeros(2, 3)})
    assert as_dict["labels"].dtype == torch.int64


def test_detection_trainer_defaults_to_the_batch_collator_with_positional_arguments(tmp_path):
    from transformers import TrainingArguments

    from hf_aidetect.training.trainer import DetectionTrainer

    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none")
    model = torch.nn.Linear(2, 2)
    assert DetectionTrainer(model, args).data_collator is collate_batches
    assert DetectionTrainer(model=model, args=args).data_collator is collate_batches
    mine = lambda batch: batch  # noqa: E731
    assert DetectionTrainer(model, args, mine).data_collator is mine
