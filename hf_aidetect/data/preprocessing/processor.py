"""The image processor a trained model is saved with: it reproduces the evaluation geometry exactly.

``pipeline("image-classification")`` and ``AutoImageProcessor`` know nothing of hf_aidetect, so the
saved processor itself must do what evaluation did. For the native-resolution ``crop`` geometry that is
transformers' own ``BitImageProcessor`` with ``do_resize=False`` and a centre crop of the input side
(its numpy ``center_crop`` zero-pads smaller images, as :mod:`.geometry` does); for ``resize`` it is the
model's processor unchanged. Saved as the PIL backend, which needs no torchvision.
"""

from __future__ import annotations

from transformers.image_processing_utils import BaseImageProcessor
from transformers.image_utils import PILImageResampling
from transformers.models.bit.image_processing_pil_bit import BitImageProcessorPil

from hf_aidetect.data.preprocessing.config import InputSpec, PreprocessConfig
from hf_aidetect.errors import ConfigError


def crop_image_processor(spec: InputSpec) -> BitImageProcessorPil:
    """A processor that centre-crops ``spec.size`` at native resolution (zero padding), then normalises."""
    return BitImageProcessorPil(
        do_resize=False,
        size={"shortest_edge": spec.size},
        resample=PILImageResampling(spec.resample),
        do_center_crop=True,
        crop_size={"height": spec.size, "width": spec.size},
        do_rescale=True,
        do_normalize=True,
        image_mean=list(spec.mean),
        image_std=list(spec.std),
        do_convert_rgb=True,
    )


def processor_for(processor: BaseImageProcessor, preprocess: PreprocessConfig) -> BaseImageProcessor:
    """The model's processor made to match ``preprocess``'s geometry (same side, mean and std)."""
    spec = InputSpec.from_image_processor(processor)
    if preprocess.geometry == spec.geometry:
        return processor
    if preprocess.geometry == "crop":
        return crop_image_processor(spec)
    raise ConfigError(
        f"--geometry resize: the model's {type(processor).__name__} crops at native resolution and cannot "
        "say how to resize; start from a checkpoint whose processor resizes, or keep --geometry crop."
    )
