"""The report's seed CNN as a transformers ``PreTrainedModel``.

Imports only torch, transformers and its sibling configuration file, so ``save_pretrained`` copies both files
next to the weights (``auto_map`` in config.json) and the model loads with ``trust_remote_code=True`` in a
process where hf_aidetect is not installed.

Like transformers' own image classifiers, the loss follows ``config.problem_type`` (inferred from the labels
when unset: one label -> regression / MSE, integer labels -> single-label cross-entropy, float labels ->
multi-label BCE-with-logits), and the conv blocks support gradient (activation) checkpointing.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import ImageClassifierOutput

from .configuration_seed_cnn import SeedCNNConfig


class SeedCNNConvBlock(GradientCheckpointingLayer):
    """``Conv2d -> ReLU -> MaxPool2d -> Dropout``, exactly as in the report (checkpointable: its activations
    are recomputed in the backward pass when gradient checkpointing is on)."""

    def __init__(self, in_channels: int, out_channels: int, config: SeedCNNConfig) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, config.kernel_size, stride=config.stride, padding=config.padding
        )
        self.activation = nn.ReLU()
        self.pool = nn.MaxPool2d(config.pool_size)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, hidden_state: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.pool(self.activation(self.conv(hidden_state))))


class SeedCNNPreTrainedModel(PreTrainedModel):
    """Weight init and loading glue shared by seed CNN heads."""

    config_class = SeedCNNConfig
    config: SeedCNNConfig
    base_model_prefix = "seed_cnn"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    supports_gradient_checkpointing = True
    # forward takes no **kwargs: Trainer must scale the loss itself under gradient accumulation.
    accepts_loss_kwargs = False

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Kaiming (He) init for the ReLU network: the default N(0, 0.02) left this CNN not learning."""
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            if module.bias is not None:
                init.zeros_(module.bias)


class SeedCNNForImageClassification(SeedCNNPreTrainedModel):
    """Three conv blocks (32, 64, 128 filters), flatten, FC 500 -> ReLU -> FC 225 -> ReLU -> FC num_labels."""

    def __init__(self, config: SeedCNNConfig) -> None:
        super().__init__(config)
        if config.feature_size < 1:
            raise ValueError(
                f"SeedCNNConfig.image_size={config.image_size} is too small: the conv/pool stack "
                f"(kernel {config.kernel_size}, stride {config.stride}, padding {config.padding}, "
                f"pool {config.pool_size}) reduces it to nothing. "
                "Use image_size >= 85 for the default geometry."
            )
        self.num_labels = config.num_labels
        channels = [config.num_channels, *config.conv_channels]
        self.blocks = nn.ModuleList(
            SeedCNNConvBlock(channels[i], channels[i + 1], config) for i in range(len(config.conv_channels))
        )
        layers: list[nn.Module] = []
        width = config.flatten_size
        for hidden in config.hidden_sizes:
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(config.classifier_dropout)]
            width = hidden
        layers.append(nn.Linear(width, config.num_labels))
        self.classifier = nn.Sequential(*layers)
        self.post_init()

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """transformers' classifier loss for ``config.problem_type`` (inferred and set when ``None``, as
        ``ViTForImageClassification`` does); ``config.class_weights`` weigh single-label cross-entropy."""
        if self.config.class_weights is None:
            return self.loss_function(labels, logits, self.config)
        if (
            self.config.problem_type is None
            and self.num_labels > 1
            and labels.dtype in (torch.long, torch.int)
        ):
            self.config.problem_type = "single_label_classification"
        if self.config.problem_type != "single_label_classification":
            raise ValueError(
                f"SeedCNNConfig.class_weights apply to single-label classification only, not to problem_type "
                f"{self.config.problem_type!r} (labels of dtype {labels.dtype}); drop class_weights."
            )
        weight = torch.tensor(self.config.class_weights, dtype=logits.dtype, device=logits.device)
        return nn.functional.cross_entropy(
            logits.view(-1, self.num_labels), labels.view(-1).to(logits.device), weight=weight
        )

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> ImageClassifierOutput | tuple[torch.Tensor, ...]:
        r"""
        pixel_values: float tensor ``[batch, num_channels, image_size, image_size]``.
        labels: optional targets, which add the ``loss`` of ``config.problem_type``: int64 ``[batch]`` class
            ids (0 = real, 1 = fake) for cross-entropy, float ``[batch, num_labels]`` for multi-label, float
            ``[batch]`` (one label) for regression.
        output_hidden_states: also return each conv block's output (``[batch, C, H, W]``, e.g. for Grad-CAM).
        """
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        if return_dict is None:
            return_dict = self.config.return_dict
        hidden_states: tuple[torch.Tensor, ...] = ()
        hidden = pixel_values
        for block in self.blocks:
            hidden = block(hidden)
            hidden_states += (hidden,)
        logits = self.classifier(torch.flatten(hidden, start_dim=1))
        loss = self._loss(logits, labels) if labels is not None else None
        if not return_dict:
            output = (logits, hidden_states) if output_hidden_states else (logits,)
            return (loss, *output) if loss is not None else output
        return ImageClassifierOutput(
            loss=loss, logits=logits, hidden_states=hidden_states if output_hidden_states else None
        )


__all__ = ["SeedCNNForImageClassification", "SeedCNNPreTrainedModel"]
