"""The demo dataset's card (README.md): honest about what this data is and is not."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hf_aidetect.data.demo.options import DemoDataOptions

_TEMPLATE = """\
---
pretty_name: hf_aidetect demo data (smoke test)
task_categories:
- image-classification
size_categories:
- n<1K
---

# hf_aidetect demo data

**A smoke-test dataset for pipelines, not a face-forensics benchmark.** It exists so that
`hf-aidetect` can be installed, trained, evaluated and published end-to-end on any machine, offline,
in minutes. A detector's accuracy on it says nothing about how it handles real generated faces
(GANs, diffusion models) or real photos in the wild.

## How it was made

Written by `hf-aidetect demo-data` (hf_aidetect {version}), deterministically: the same options give
byte-identical files.

- **real**: random square crops (side log-uniform between {min_side} px and the photo's shorter edge,
  random horizontal flip; near-flat crops such as clear sky are redrawn, in both classes) of three
  photographs that ship inside installed Python packages:
  scikit-learn's `china.jpg` and `flower.jpg` (CC BY 2.0, see `sklearn/datasets/images/README.txt`) and
  matplotlib's `grace_hopper.jpg`, downsampled to {size}x{size} with a Lanczos filter.
- **fake**: other crops drawn the same way (no crop is used twice), downsampled 4x, then re-synthesised
  by a small up-convolution decoder (two stride-2 `ConvTranspose2d` layers) trained for {steps} steps
  to rebuild {gen_crops} further crops from their downsampled copies. The fakes therefore carry a generator's
  fingerprints: upsampling (checkerboard) artifacts and missing high frequencies. Each fake keeps its
  source's mean colour, and real / fake crops are matched by photo and brightness.
- Both classes are saved identically: RGB, {size}x{size}, {format_desc}. The file format, size and
  quality carry no label, and image content comes from the same photos in both classes.

Options: seed={seed}, image_size={size}, format={fmt}, quality={quality}, generator_steps={steps},
generator_crops={gen_crops}, generator_width={width}, min_crop_scale={min_scale}, min_detail={min_detail},
num_threads={threads}.

## Layout and counts

`real_vs_fake/real-vs-fake/{{train,valid,test}}/{{real,fake}}/*.{fmt}` (the Kaggle "140k Real and Fake
Faces" layout). Load it with `hf_aidetect.load_detection_dataset("<this folder>")` (real=0, fake=1).

{table}
"""


def render_card(options: DemoDataOptions, counts: dict[str, dict[str, int]]) -> str:
    """Markdown dataset card for the options used and the per-split counts written."""
    from hf_aidetect import __version__
    from hf_aidetect.markdown import markdown_table

    rows = [[split, c["real"], c["fake"]] for split, c in counts.items()]
    fmt = options.image_format
    return _TEMPLATE.format(
        version=__version__,
        size=options.image_size,
        steps=options.generator_steps,
        gen_crops=options.generator_crops,
        width=options.generator_width,
        threads=options.num_threads,
        min_detail=options.min_detail,
        min_scale=options.min_crop_scale,
        min_side=round(options.min_crop_scale * options.image_size),
        seed=options.seed,
        fmt=fmt,
        quality=options.quality,
        format_desc=f"JPEG quality {options.quality}, 4:2:0 chroma" if fmt == "jpg" else "PNG (lossless)",
        table=markdown_table(["split", "real", "fake"], rows),
    )
