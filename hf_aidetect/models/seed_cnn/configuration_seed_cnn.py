"""Configuration of the report's seed CNN (3 conv blocks + 3 fully connected layers).

Imports only transformers so that ``save_pretrained`` can copy this file next to the weights and the model
loads with ``trust_remote_code=True`` where hf_aidetect is not installed.
"""

from __future__ import annotations

from collections.abc import Sequence

from transformers import PretrainedConfig


class SeedCNNConfig(PretrainedConfig):
    """Sizes and dropout of the seed CNN.

    Each conv block is ``Conv2d(kernel_size, stride, padding) -> ReLU -> MaxPool2d(pool_size) -> Dropout``;
    the head is ``Linear(flatten, 500) -> ReLU -> Linear(500, 225) -> ReLU -> Linear(225, num_labels)``. The
    flatten size is derived from ``image_size`` (128 x 3 x 3 = 1,152 at 224, 948,301 parameters in all);
    the default kernel/stride/pool need ``image_size >= 85``.

    Args:
        image_size: Square input side in pixels.
        num_channels: Input channels (3 for RGB).
        conv_channels: Filters of the conv layers, one entry per layer (the report: 32, 64, 128).
        kernel_size / stride / padding: Conv geometry shared by all conv layers (the report: 5, 2, 1).
        pool_size: Max-pool window and stride after every conv layer.
        dropout: Dropout after every conv block (the report does not give a value; 0.25 is our default).
        hidden_sizes: Widths of the hidden fully connected layers (the report: 500, 225).
        classifier_dropout: Dropout after each hidden fully connected layer (0.0 = the report's head exactly).
        class_weights: Optional per-class weights of the cross-entropy loss, indexed by label id
            (e.g. ``[1.0, 1.37]`` for 70k real / 51k fake); ``None`` = unweighted.
        kwargs: Passed to ``PretrainedConfig`` (``id2label``, ``label2id``, ...). Defaults to real=0 / fake=1.
    """

    model_type = "seed_cnn"

    def __init__(
        self,
        image_size: int = 224,
        num_channels: int = 3,
        conv_channels: Sequence[int] = (32, 64, 128),
        kernel_size: int = 5,
        stride: int = 2,
        padding: int = 1,
        pool_size: int = 2,
        dropout: float = 0.25,
        hidden_sizes: Sequence[int] = (500, 225),
        classifier_dropout: float = 0.0,
        class_weights: Sequence[float] | None = None,
        **kwargs,
    ) -> None:
        if kwargs.get("id2label") is None and kwargs.get("num_labels") in (None, 2):
            kwargs["id2label"] = {0: "real", 1: "fake"}
            kwargs["label2id"] = {"real": 0, "fake": 1}
        self.image_size = int(image_size)
        self.num_channels = int(num_channels)
        # Lists, not tuples: they round-trip through config.json unchanged.
        self.conv_channels = [int(c) for c in conv_channels]
        self.kernel_size = int(kernel_size)
        self.stride = int(stride)
        self.padding = int(padding)
        self.pool_size = int(pool_size)
        self.dropout = float(dropout)
        self.hidden_sizes = [int(h) for h in hidden_sizes]
        self.classifier_dropout = float(classifier_dropout)
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]
        super().__init__(**kwargs)

    @property
    def feature_size(self) -> int:
        """Side of the last conv block's feature map (3 at 224 px)."""
        size = self.image_size
        for _ in self.conv_channels:
            size = (size + 2 * self.padding - self.kernel_size) // self.stride + 1
            size = size // self.pool_size if size > 0 else 0
        return max(size, 0)

    @property
    def flatten_size(self) -> int:
        """Inputs of the first fully connected layer (128 x 3 x 3 = 1,152 at 224 px)."""
        return self.conv_channels[-1] * self.feature_size**2


__all__ = ["SeedCNNConfig"]
