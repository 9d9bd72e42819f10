"""load_rgb / to_rgb: every PIL mode becomes correct 8-bit RGB with EXIF orientation applied."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hf_aidetect.data.images import has_image_extension, is_hidden_or_system, load_rgb, to_rgb
from tests.utils import (
    rgb_array,
    write_cmyk_jpeg,
    write_exif_rotated_jpeg,
    write_gray_png,
    write_palette_png,
    write_png16,
    write_rgb_jpeg,
    write_rgba_png,
)


def _rgb(path) -> np.ndarray:
    image = load_rgb(path)
    assert image.mode == "RGB"
    return np.asarray(image).astype(int)


def test_grayscale_becomes_three_equal_channels(tmp_path):
    array = _rgb(write_gray_png(tmp_path / "g.png"))
    assert array.shape == (48, 48, 3)
    assert (array[..., 0] == array[..., 1]).all() and (array[..., 1] == array[..., 2]).all()


def test_rgba_transparent_pixels_become_white_opaque_kept(tmp_path):
    array = _rgb(write_rgba_png(tmp_path / "a.png", size=48, seed=3))
    assert (array[:, 24:] == 255).all()  # transparent half: white, not the red hidden underneath
    assert (array[:, :24] == rgb_array(48, 3)[:, :24]).all()


def test_la_mode_composites_on_white():
    la = Image.merge("LA", (Image.new("L", (4, 4), 10), Image.new("L", (4, 4), 0)))
    assert (np.asarray(to_rgb(la)) == 255).all()


def test_palette_with_and_without_transparency(tmp_path):
    plain = write_palette_png(tmp_path / "p.png", seed=1)
    with Image.open(plain) as image:
        assert image.mode == "P"
        expected = np.asarray(image.convert("RGB")).astype(int)
    assert (_rgb(plain) == expected).all()
    transparent = write_palette_png(tmp_path / "pt.png", seed=1, transparent=True)
    with Image.open(transparent) as image:
        index_zero = np.asarray(image) == 0
    assert index_zero.any()
    assert (_rgb(transparent)[index_zero] == 255).all()


def test_cmyk_jpeg_close_to_original_colours(tmp_path):
    array = _rgb(write_cmyk_jpeg(tmp_path / "c.jpg", seed=2))
    assert np.abs(array - rgb_array(48, 2).astype(int)).mean() < 12


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    with Image.open(write_png16(tmp_path / "ramp.png")) as image:
        assert image.mode.startswith("I")
    ramp = _rgb(tmp_path / "ramp.png")[..., 0].ravel()
    assert ramp.min() == 0 and ramp.max() == 255
    assert (np.diff(ramp) >= 0).all()  # still a monotonic ramp: clipping would saturate after 1/256
    assert 120 <= ramp[len(ramp) // 2] <= 135
    assert (_rgb(write_png16(tmp_path / "mid.png", value=32768)) == 128).all()
    assert (_rgb(write_png16(tmp_path / "top.png", value=65535)) == 255).all()


@pytest.mark.parametrize(("mode", "values", "expected"), [("F", 0.5, 128), ("F", 200.0, 200), ("I", 1000, 4)])
def test_float_and_32_bit_modes(mode, values, expected):
    image = Image.new(mode, (3, 3), values)
    assert (np.asarray(to_rgb(image)) == expected).all()


def test_exif_orientation_is_applied(tmp_path):
    path = write_exif_rotated_jpeg(tmp_path / "r.jpg", size=(64, 32), orientation=6)
    image = load_rgb(path)
    assert image.size == (32, 64)  # displayed portrait
    array = np.asarray(image).astype(int)
    assert array[:24].mean() < 30 and array[40:].mean() > 225  # stored left (black) is displayed on top


def test_all_source_kinds_decode_the_same(tmp_path):
    path = write_rgb_jpeg(tmp_path / "x.jpg")
    data = path.read_bytes()
    reference = np.asarray(load_rgb(path))
    for source in (str(path), data, {"path": None, "bytes": data}, {"path": str(path), "bytes": None}):
        assert (np.asarray(load_rgb(source)) == reference).all()
    assert (np.asarray(load_rgb(Image.open(path))) == reference).all()


def test_draft_scale_decodes_large_jpeg_smaller(tmp_path):
    path = write_rgb_jpeg(tmp_path / "big.jpg", size=256)
    assert load_rgb(path, draft_scale=0.2).size == (64, 64)  # libjpeg picks 1/4 (>= the 0.2 request)
    assert load_rgb(path, draft_scale=0.6).size == (256, 256)


def test_file_name_rules():
    assert has_image_extension("a.JPG") and has_image_extension("b.TiFf") and has_image_extension("c.webp")
    assert not has_image_extension("notes.txt") and not has_image_extension("Thumbs.db")
    assert (
        is_hidden_or_system(".DS_Store")
        and is_hidden_or_system("._x.jpg")
        and is_hidden_or_system("Thumbs.db")
    )
    assert not is_hidden_or_system("x.jpg")
