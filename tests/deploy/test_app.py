"""The web app without a browser: its rows are predict's, zips and folders become CSVs, bad input is a
message, the page builds and binds 127.0.0.1 with Gradio's analytics off."""

from __future__ import annotations

import csv
import io
import os
import socket
import urllib.request
import zipfile
from pathlib import Path

import pytest

from hf_aidetect.cli import main
from hf_aidetect.deploy.app import DetectorApp, build_demo, create_app, launch, share_hint
from hf_aidetect.deploy.app.interface import batch_summary, results_html
from hf_aidetect.deploy.app.service import ImageVerdict, extract_images
from hf_aidetect.inference.predict import PredictionRow
from tests.utils import rgb_array, write_not_an_image, write_rgb_jpeg, write_truncated_jpeg


@pytest.fixture(scope="module")
def app(trained_cnn_dir: Path, tmp_path_factory) -> DetectorApp:
    detector_app = create_app(trained_cnn_dir)
    detector_app.work_dir = tmp_path_factory.mktemp("app_work")
    return detector_app


def _predict(model: Path, paths: list[Path], out: Path) -> dict[str, dict[str, str]]:
    main(["-q", "predict", str(model), *map(str, paths), "--format", "csv", "--output", str(out)])
    with out.open(newline="") as stream:
        return {Path(row["path"]).name: row for row in csv.DictReader(stream)}


def test_images_are_predicts_rows_with_heatmaps(app, trained_cnn_dir, demo_test_images, tmp_path) -> None:
    images = demo_test_images["real"][:2] + demo_test_images["fake"][:2]
    named = []
    for index, path in enumerate(images):
        named.append(tmp_path / f"upload_{index}.jpg")
        named[-1].write_bytes(path.read_bytes())
    bad = [write_truncated_jpeg(tmp_path / "cut.jpg"), write_not_an_image(tmp_path / "notes.txt")]
    expected = _predict(trained_cnn_dir, [*named, *bad], tmp_path / "p.csv")
    verdicts = app.check_images([*named, *bad])
    assert [v.name for v in verdicts] == [p.name for p in [*named, *bad]]
    for verdict in verdicts:
        want = expected[verdict.name]
        assert verdict.row.label == (want["label"] or None) and verdict.row.error == want["error"]
        if verdict.row.error:
            assert verdict.overlay is None and verdict.message == want["error"]
        else:
            assert f"{verdict.row.fake_score:.6f}" == want["fake_score"]
            assert verdict.overlay is not None and verdict.overlay.size == (32, 32)
            assert verdict.message == "heatmap: Grad-CAM"
    page = results_html(verdicts, app.threshold)
    assert page.count('data-testid="result-row"') == 6 and "0.5000" in page
    assert app.rule == "fake iff P(fake) >= 0.5000 (default)"


def test_results_html_escapes_names() -> None:
    row = PredictionRow("<b>.png", None, None, "not an image: <script>")
    page = results_html([ImageVerdict("<img src=x onerror=alert(1)>.png", row)], 0.5)
    assert "<img" not in page and "<script>" not in page and "&lt;img" in page


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, content in entries.items():
            bundle.writestr(name, content)
    return buffer.getvalue()


def _jpeg(seed: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb_array(40, seed)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_zip_to_csv_safely(app, tmp_path: Path) -> None:
    archive = tmp_path / "faces.zip"
    archive.write_bytes(
        _zip(
            {
                "faces/a.jpg": _jpeg(1),
                "faces/sub/b.jpg": _jpeg(2),
                "faces/broken.jpg": b"\xff\xd8 nope",
                "../escape.jpg": _jpeg(3),
                "/abs.jpg": _jpeg(4),
                "__MACOSX/faces/._a.jpg": b"junk",
                "faces/.hidden.jpg": _jpeg(5),
                "faces/readme.txt": b"hello",
                "faces/empty/": b"",
            }
        )
    )
    result = app.check_zip(archive)
    assert [row.path for row in result.rows] == ["faces/a.jpg", "faces/sub/b.jpg", "faces/broken.jpg"]
    assert result.skipped == 5 and not list(tmp_path.rglob("escape.jpg")) and not Path("/abs.jpg").exists()
    with result.csv_path.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == ["path", "label", "fake_score", "error"]
    assert rows[2]["error"] and not rows[0]["error"] and rows[0]["label"] in ("real", "fake")
    summary = batch_summary(result, app.threshold)
    assert "3 image(s)" in summary and "1 could not be read" in summary and "5 file(s)" in summary

    (tmp_path / "not.zip").write_bytes(b"PK but not really")
    assert app.check_zip(tmp_path / "not.zip").problem == "not.zip is not a zip archive"
    empty = tmp_path / "empty.zip"
    empty.write_bytes(_zip({"notes.txt": b"x"}))
    result = app.check_zip(empty)
    assert result.csv_path is None and "no image files" in result.problem
    assert "Nothing scored" in batch_summary(result, 0.5)


def test_zip_bomb_stops(tmp_path: Path, monkeypatch) -> None:
    from hf_aidetect.deploy.app import service

    monkeypatch.setattr(service, "MAX_ARCHIVE_BYTES", 1000)
    archive = tmp_path / "big.zip"
    archive.write_bytes(_zip({"a.jpg": b"\0" * 800, "b.jpg": b"\0" * 800}))
    with pytest.raises(ValueError, match="unpacks to more than"):
        extract_images(archive, tmp_path / "out")


def test_folder_upload(app, tmp_path: Path) -> None:
    files = [
        write_rgb_jpeg(tmp_path / "up" / "x.jpg", 36, seed=1),
        write_not_an_image(tmp_path / "up" / "y.txt"),
    ]
    result = app.check_folder(files, root=tmp_path / "up")
    assert [row.path for row in result.rows] == ["x.jpg"] and result.skipped == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening_addresses(port: int) -> set[str] | None:
    """IPv4 addresses listening on ``port``, from /proc/net/tcp (None where there is no /proc)."""
    table = Path("/proc/net/tcp")
    if not table.is_file():
        return None
    found = set()
    for line in table.read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == "0A":  # 0A: LISTEN
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def test_page_builds_and_binds_loopback_offline(app, monkeypatch) -> None:
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "True")
    demo = build_demo(app)
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"  # forced off before Gradio is imported
    assert demo.analytics_enabled is False
    port = _free_port()
    url = launch(demo, port=port, block=False)
    try:
        assert url.startswith(f"http://127.0.0.1:{port}")
        assert "Real or AI-generated face?" in urllib.request.urlopen(url, timeout=30).read().decode()
        assert _listening_addresses(port) in ({"127.0.0.1"}, None)  # loopback only, never 0.0.0.0
    finally:
        demo.close()
    assert "this machine only" in share_hint("127.0.0.1") and "--share" in share_hint("127.0.0.1")


def test_app_cli_errors(tmp_path: Path, capsys) -> None:
    assert main(["app", str(tmp_path / "missing"), "--port", "7999"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["app", str(tmp_path), "--port", "70000"]) == 2
    assert "--port 70000 is not a TCP port" in capsys.readouterr().err
