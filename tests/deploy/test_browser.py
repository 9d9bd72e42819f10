"""The app driven in a real headless Chromium, as a person drives it (``pytest -m browser``; CI runs it).

``hf-aidetect app`` runs as a subprocess on a free port with a socket guard that refuses (and records) any
connection outside the loopback range; Chromium (Debian's, through Playwright's ``executable_path``,
with a fresh profile and background networking off) uploads a real and a fake demo image, reads the
label and score the page shows and compares them with ``hf-aidetect predict``'s CSV, saves a screenshot
(its path is printed), uploads a broken file and reads the error shown. Every request the page makes
must go to the app itself.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from hf_aidetect.cli import main
from tests.utils import write_not_an_image, write_truncated_jpeg

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("HF_AIDETECT_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("HF_AIDETECT_SCREENSHOTS", REPO_ROOT / "outputs" / "browser-test"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
]
# Imported by the app process first: any socket connection outside 127.0.0.0/8 / ::1 is refused and logged.
SOCKET_GUARD = """
import os, socket
_log = os.environ["HF_AIDETECT_SOCKET_LOG"]
_connect = socket.socket.connect
def _guarded(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if self.family in (socket.AF_INET, socket.AF_INET6) and not (
        str(host).startswith("127.") or str(host) in ("::1", "localhost")
    ):
        with open(_log, "a") as handle:
            handle.write(f"{host}\\n")
        raise OSError("network access refused by the test's socket guard")
    return _connect(self, address)
socket.socket.connect = _guarded
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_app(model: Path, port: int, tmp_path: Path) -> tuple[subprocess.Popen, str, Path]:
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(SOCKET_GUARD)
    log = tmp_path / "refused_connections.txt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(guard_dir), str(REPO_ROOT)])}
    env.update(
        HF_AIDETECT_SOCKET_LOG=str(log), GRADIO_TEMP_DIR=str(tmp_path / "gradio"), PYTHONUNBUFFERED="1"
    )
    command = [sys.executable, "-m", "hf_aidetect.cli", "app", str(model), "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline, lines = time.monotonic() + 240, []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if line.startswith("hf-aidetect app:"):
            return process, line + process.stdout.readline(), log
    process.kill()
    pytest.fail("the app did not start:\n" + "".join(lines))


def _predict_rows(model: Path, paths: list[Path], out: Path) -> dict[str, dict[str, str]]:
    main(["-q", "predict", str(model), *map(str, paths), "--format", "csv", "--output", str(out)])
    with out.open(newline="") as stream:
        return {Path(row["path"]).name: row for row in csv.DictReader(stream)}


def _read_rows(page) -> dict[str, dict[str, str]]:
    rows = {}
    for row in page.locator("[data-testid=result-row]").all():
        cells = {
            key: row.locator(f"[data-testid={key}]").inner_text().strip()
            for key in ("label", "score", "threshold", "message")
        }
        rows[row.get_attribute("data-file")] = cells
    return rows


def _upload(page, paths: list[Path], expected_rows: int) -> dict[str, dict[str, str]]:
    page.locator("#image-upload input[type=file]").set_input_files([str(path) for path in paths])
    page.wait_for_function(
        "n => document.querySelectorAll('#image-upload .file-preview tr, #image-upload table tr').length"
        " >= n",
        arg=len(paths),
        timeout=60_000,
    )
    page.locator("#detect-button").click()
    page.wait_for_function(
        "([n, names]) => { const rows = [...document.querySelectorAll('[data-testid=result-row]')];"
        " return rows.length === n && names.every(x => rows.some(r => r.dataset.file === x)); }",
        arg=[expected_rows, [path.name for path in paths]],
        timeout=120_000,
    )
    return _read_rows(page)


def test_app_in_headless_chromium(trained_cnn_dir: Path, demo_test_images: dict, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("HF_AIDETECT_REQUIRE_BROWSER"):  # CI: a missing browser is a failure
            pytest.fail(f"{CHROMIUM} missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    # Demo files are named by index in each class folder: copy them under names that tell them apart.
    real = Path(shutil.copy(demo_test_images["real"][0], tmp_path / "real_face.jpg"))
    fake = Path(shutil.copy(demo_test_images["fake"][0], tmp_path / "fake_face.jpg"))
    expected = _predict_rows(trained_cnn_dir, [real, fake], tmp_path / "predict.csv")
    assert (expected[real.name]["label"], expected[fake.name]["label"]) == ("real", "fake")
    broken = write_truncated_jpeg(tmp_path / "broken" / "broken_face.jpg")
    not_image = write_not_an_image(tmp_path / "broken" / "notes.png")

    port = _free_port()
    process, banner, refused = _start_app(trained_cnn_dir, port, tmp_path)
    assert f"http://127.0.0.1:{port}" in banner and "this machine only" in banner
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    hosts: set[str] = set()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch_persistent_context(
                str(profile),
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 1400},
            )
            page = browser.new_page()
            page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc or request.url[:5]))
            page.goto(f"http://127.0.0.1:{port}/", wait_until="networkidle", timeout=120_000)
            assert "P(fake) >= 0.5000" in page.inner_text("body")

            shown = _upload(page, [real, fake], expected_rows=2)
            for path in (real, fake):
                row, want = shown[path.name], expected[path.name]
                assert (row["label"], row["score"]) == (want["label"], want["fake_score"]), path.name
                assert row["threshold"] == "0.5000"
                assert "heatmap" in row["message"]
            page.wait_for_function("document.querySelectorAll('#heatmaps img').length >= 2", timeout=60_000)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            screenshot = SCREENSHOTS / "app_real_and_fake.png"
            page.screenshot(path=str(screenshot), full_page=True)

            page.reload(wait_until="networkidle")
            errors = _upload(page, [broken, not_image], expected_rows=2)
            assert errors["broken_face.jpg"]["label"] == "error"
            assert "truncated or corrupt image data" in errors["broken_face.jpg"]["message"]
            assert errors["notes.png"]["message"] == "not an image: PIL cannot identify the file format"
            assert errors["notes.png"]["score"] == "-"
            error_shot = SCREENSHOTS / "app_broken_files.png"
            page.screenshot(path=str(error_shot), full_page=True)
            browser.close()
        sys.__stdout__.write(f"\nbrowser test screenshots: {screenshot} {error_shot}\n")
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)
    assert hosts == {f"127.0.0.1:{port}"} | ({"data:", "blob:"} & hosts), hosts
    assert not refused.exists(), f"the app tried to reach: {refused.read_text()}"
