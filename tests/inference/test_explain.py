"""Heatmaps: the image's size, normalised to [0, 1], not constant; overlays and the explain command."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from hf_aidetect.cli import main
from hf_aidetect.data.preprocessing import InputSpec, create_transforms
from hf_aidetect.errors import ConfigError
from hf_aidetect.inference.explain import default_method, explain_image, overlay_heatmap
from hf_aidetect.inference.loading import load_detector
from tests.utils import rgb_array, write_rgb_jpeg, write_zero_byte

IMAGE = Image.fromarray(rgb_array((48, 40), seed=3))  # not square: the map must still fit the image


def _check_heatmap(heatmap: np.ndarray, image: Image.Image) -> None:
    assert heatmap.shape == (image.height, image.width)
    assert heatmap.dtype == np.float32
    assert heatmap.min() == pytest.approx(0.0) and heatmap.max() == pytest.approx(1.0)
    assert heatmap.std() > 0.01


@pytest.mark.parametrize(("model", "method"), [("vit", "attention"), ("cnn", "gradcam")])
def test_default_method_heatmaps(model, method, tiny_vit_dir, tiny_cnn_dir):
    detector = load_detector(tiny_vit_dir if model == "vit" else tiny_cnn_dir)
    assert default_method(detector.model) == method
    attention_before = detector.model.config._attn_implementation
    explanation = explain_image(detector, IMAGE)
    assert explanation.method == method
    _check_heatmap(explanation.heatmap, IMAGE)
    assert 0.0 <= explanation.fake_score <= 1.0
    assert explanation.target == (1 if explanation.fake_score >= 0.5 else 0)
    assert detector.model.config._attn_implementation == attention_before  # eager only during the call
    # ViTImageProcessor squashes the whole image to 32x32: the map is stretched over all of it.
    assert explanation.region == (0, 0, IMAGE.width, IMAGE.height)
    overlay = np.asarray(overlay_heatmap(IMAGE, explanation.heatmap, region=explanation.region)).astype(int)
    assert not np.all(overlay[:, :4, 0] == overlay[:, :4, 1])  # margins not greyed out


def test_full_image_heatmap_covers_the_margins(tiny_cnn_dir):
    detector = load_detector(tiny_cnn_dir)
    assert detector.transform.spec.resize_mode == "full"
    explanation = explain_image(detector, IMAGE, method="saliency")
    _check_heatmap(explanation.heatmap, IMAGE)
    for margin in (explanation.heatmap[:, :4], explanation.heatmap[:, -4:]):
        assert margin.max() > 0 and margin.std() > 0  # stretched over the whole image, not zeroed


def test_native_window_heatmap_leaves_unseen_margins_grey(tiny_cnn_dir):
    detector = load_detector(tiny_cnn_dir)
    spec = InputSpec(size=32, mean=detector.transform.spec.mean, std=detector.transform.spec.std)
    detector.transform = create_transforms(spec).evaluation  # native-resolution centre window
    explanation = explain_image(detector, IMAGE, method="gradcam")
    _check_heatmap(explanation.heatmap, IMAGE)
    # The model saw the centred 32x32 window of the 48x40 image: everything outside it stays 0.
    assert explanation.region == (8, 4, 40, 36)
    assert np.all(explanation.heatmap[:, :8] == 0) and np.all(explanation.heatmap[:4] == 0)
    small = Image.fromarray(rgb_array((20, 24), seed=4))  # smaller than the window: padded around it
    padded = explain_image(detector, small, method="gradcam")
    assert padded.region == (0, 0, 20, 24) and padded.heatmap.shape == (24, 20)
    overlay = np.asarray(overlay_heatmap(IMAGE, explanation.heatmap, region=explanation.region)).astype(int)
    margin = overlay[:, :8]
    assert np.all(margin[..., 0] == margin[..., 1]) and np.all(margin[..., 1] == margin[..., 2])


def test_saliency_and_threshold_pick_the_explained_class(tiny_cnn_dir):
    detector = load_detector(tiny_cnn_dir)
    saliency = explain_image(detector, IMAGE, method="saliency")
    _check_heatmap(saliency.heatmap, IMAGE)
    assert explain_image(detector, IMAGE, method="gradcam", threshold=0.0).target == 1
    assert explain_image(detector, IMAGE, method="gradcam", threshold=1.0).target == 0
    with pytest.raises(ConfigError, match="--method lime: choose one of"):
        explain_image(detector, IMAGE, method="lime")


def test_attention_on_the_cnn_is_a_one_line_error(tiny_cnn_dir, tmp_path, capsys):
    image = tmp_path / "face.png"
    IMAGE.save(image)
    out = tmp_path / "overlays"
    argv = ["explain", str(tiny_cnn_dir), str(image), "--output-dir", str(out), "--method", "attention"]
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2 and err.rstrip().count("\n") <= 1, err  # the error line, at most the weights bar
    last = err.rstrip().splitlines()[-1]
    assert last.startswith("hf-aidetect explain: error: --method attention needs a transformer")
    assert "use --method gradcam" in last
    assert "Traceback" not in err and not any(out.glob("*.png"))


def test_overlay_has_image_size():
    heatmap = np.linspace(0, 1, IMAGE.width * IMAGE.height, dtype=np.float32).reshape(
        IMAGE.height, IMAGE.width
    )
    overlay = overlay_heatmap(IMAGE, heatmap)
    assert overlay.size == IMAGE.size and overlay.mode == "RGB"
    assert not np.array_equal(np.asarray(overlay), np.asarray(IMAGE))
    with pytest.raises(ValueError, match="does not match"):
        overlay_heatmap(IMAGE, heatmap.T)


def test_explain_command_writes_one_png_per_image(tiny_vit_dir, tmp_path, capsys):
    good = [write_rgb_jpeg(tmp_path / "in" / f"face{i}.jpg", (56, 40), seed=i) for i in range(2)]
    bad = write_zero_byte(tmp_path / "in" / "broken.jpg")
    out = tmp_path / "overlays"
    status = main(["-q", "explain", str(tiny_vit_dir), *map(str, good), str(bad), "--out", str(out)])
    assert status == 1  # the broken image is reported, the others written
    written = sorted(out.glob("*.png"))
    assert len(written) == 2 and capsys.readouterr().out.split() == [
        str(p) for p in sorted(written, key=lambda p: p.name)
    ]
    for path in written:
        stem, label, score = path.stem.rsplit("_", 2)
        assert stem.startswith("face") and label in ("real", "fake") and 0 <= float(score) <= 1
        with Image.open(path) as picture:
            assert picture.width > 300 and picture.height > 200


def test_gradcam_uses_deepest_map_with_a_usable_grid():
    from hf_aidetect.inference.explain import _pick_feature_map

    maps = [torch.zeros(1, 4, side, side) for side in (23, 11, 2)]
    assert _pick_feature_map(maps).shape[-1] == 11  # the 2x2 last map is too coarse
    assert _pick_feature_map([torch.zeros(1, 4, 3, 3), torch.zeros(1, 4, 2, 2)]).shape[-1] == 3
