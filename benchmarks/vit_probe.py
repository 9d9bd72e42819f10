"""Stand-alone probe behind ``demo_vit``'s choices: does a from-scratch ViT find the generator trace?

Trains a small ViT (transformers' ``ViTForImageClassification``) on random native-resolution windows of a
Kaggle-layout folder for a fixed number of AdamW steps (one-cycle cosine schedule), then prints one JSON
line: test accuracy and ROC-AUC on the centre windows, wall time and the train-loss curve. It is not the
``hf-aidetect train`` path (no cache, no evaluation report) so that one configuration costs 20-90 s on two
cores; the shipped recipe is then measured by case f. Used for the numbers in ``benchmarks/analysis.md``::

    DATA=~/.cache/hf_aidetect/bench_quality/nearest128-seed0-*/real_vs_fake/real-vs-fake   # after case f
    python -m benchmarks.vit_probe --data $DATA --stem_init highpass --window 128 --patch 8
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.metrics import roc_auc_score
from transformers import ViTConfig, ViTForImageClassification

from hf_aidetect.models.stem_init import apply_stem_init


def _load(split: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for label, name in enumerate(("real", "fake")):
        for file in sorted((split / name).rglob("*.*")):
            images.append(np.asarray(Image.open(file).convert("RGB")))
            labels.append(label)
    return np.stack(images), np.array(labels)


def _pixels(batch: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().div(127.5).sub(1)


def _windows(images: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    side = images.shape[1]
    tops, lefts = rng.integers(side - size + 1, size=(2, len(images)))
    crops = np.stack(
        [image[t : t + size, s : s + size] for image, t, s in zip(images, tops, lefts, strict=True)]
    )
    flips = rng.random(len(crops)) < 0.5
    crops[flips] = crops[flips, :, ::-1]
    return crops


def _demo_vit_overrides() -> dict[str, object]:
    """The shipped demo_vit model's config fields (width, depth, heads, dropout), read from the recipe."""
    from hf_aidetect.training.config import parse_recipe_args

    _, _, model_args = parse_recipe_args(["--config", "demo_vit", "--dataset", "-", "--output_dir", "-"])
    return {key: value for key, value in dict(model_args.config_overrides).items() if key != "patch_size"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="folder with train/ and test/ of real/, fake/"
    )
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--patch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--stem_init", default="default", choices=("default", "highpass"))
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast for the training steps")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    train_x, train_y = _load(args.data / "train")
    test_x, test_y = _load(args.data / "test")
    config = ViTConfig(**_demo_vit_overrides(), image_size=args.window, patch_size=args.patch, num_labels=2)
    torch.manual_seed(args.seed)
    model = apply_stem_init(ViTForImageClassification(config), args.stem_init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=args.steps, pct_start=0.1
    )
    rng, losses, start = np.random.default_rng(args.seed), [], time.time()
    model.train()
    for _ in range(args.steps):
        index = rng.integers(len(train_x), size=args.batch)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            loss = model(pixel_values=_pixels(_windows(train_x[index], args.window, rng)),
                         labels=torch.from_numpy(train_y[index])).loss  # fmt: skip
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    model.eval()
    offset = (test_x.shape[1] - args.window) // 2
    centre = test_x[:, offset : offset + args.window, offset : offset + args.window]
    with torch.no_grad():
        logits = torch.cat(
            [model(pixel_values=_pixels(centre[i : i + 128])).logits for i in range(0, len(centre), 128)]
        )
    p_fake = logits.softmax(-1)[:, 1].numpy()
    curve = [
        round(float(np.mean(losses[i : i + 50])), 3) for i in range(0, args.steps, max(args.steps // 8, 1))
    ]
    result = {
        "args": {key: str(value) for key, value in vars(args).items()},
        "test_accuracy": float(((p_fake > 0.5) == test_y).mean()),
        "test_roc_auc": round(float(roc_auc_score(test_y, p_fake)), 4),
        "wall_s": round(time.time() - start),
        "train_loss": curve,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
