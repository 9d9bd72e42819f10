"""hf_aidetect.files: atomic writes (old or new, never half; nothing left behind) and output-path checks."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from hf_aidetect.errors import OutputError
from hf_aidetect.files import (
    atomic_directory,
    atomic_open,
    atomic_path,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    check_output_path,
    describe_os_error,
    remove_directory,
    replace_directory,
)


def _fail_writes(monkeypatch: pytest.MonkeyPatch, after: int = 0) -> None:
    """``os.write`` succeeds ``after`` times, then the device is full."""
    calls = {"n": 0}
    real_write = os.write

    def write(descriptor, data):
        calls["n"] += 1
        if calls["n"] > after:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(descriptor, data)

    monkeypatch.setattr(os, "write", write)


def test_writes_replace_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.json"
    atomic_write_json(target, {"b": 1, "a": 2})
    assert target.read_text() == '{\n  "a": 2,\n  "b": 1\n}\n'
    atomic_write_text(target, "line\r\nkept as given")
    assert target.read_bytes() == b"line\r\nkept as given"
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert os.listdir(target.parent) == ["out.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    _fail_writes(monkeypatch)
    with pytest.raises(OutputError, match=r"out\.txt: no space left on the device; nothing was changed"):
        atomic_write_text(target, "new" * 100_000)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]


def test_a_failing_stream_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "rows.csv"
    target.write_text("old rows\n")
    with pytest.raises(KeyboardInterrupt), atomic_open(target) as stream:
        stream.write("a,b\n")
        raise KeyboardInterrupt
    assert target.read_text() == "old rows\n" and os.listdir(tmp_path) == ["rows.csv"]
    _fail_writes(monkeypatch)
    with pytest.raises(OutputError, match=r"rows\.csv"), atomic_open(target) as stream:
        stream.write("x" * 100_000)  # larger than the buffer: reaches os.write inside the block
    assert target.read_text() == "old rows\n" and os.listdir(tmp_path) == ["rows.csv"]
    monkeypatch.undo()
    with atomic_open(target, newline="") as stream:
        stream.write("a,b\r\n")
    assert target.read_bytes() == b"a,b\r\n"


def test_permissions_are_kept_or_follow_the_umask(tmp_path: Path) -> None:
    kept = tmp_path / "kept.json"
    kept.write_text("{}")
    kept.chmod(0o640)
    atomic_write_json(kept, {"x": 1})
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    umask = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "new.txt", "x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640  # 0o666 & ~0o027


def test_a_symlink_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    atomic_write_text(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_atomic_path_for_writers_that_want_a_name(tmp_path: Path) -> None:
    target = tmp_path / "plot.png"
    with atomic_path(target) as partial:
        assert partial.suffix == ".png" and partial.parent == tmp_path and partial.name.startswith(".")
        partial.write_bytes(b"png")
        assert not target.exists()
    assert target.read_bytes() == b"png"
    with pytest.raises(RuntimeError), atomic_path(target) as partial:
        partial.write_bytes(b"half")
        raise RuntimeError("writer crashed")
    assert target.read_bytes() == b"png" and os.listdir(tmp_path) == ["plot.png"]


def test_atomic_directory(tmp_path: Path) -> None:
    target = tmp_path / "report"
    with atomic_directory(target) as partial:
        (partial / "a.txt").write_text("1")
        assert not target.exists()
    assert (target / "a.txt").read_text() == "1"
    with pytest.raises(ValueError), atomic_directory(target, replace=True) as partial:
        (partial / "b.txt").write_text("2")
        raise ValueError("the report failed")
    assert sorted(os.listdir(target)) == ["a.txt"] and os.listdir(tmp_path) == ["report"]
    with atomic_directory(target, replace=True) as partial:
        (partial / "b.txt").write_text("2")
    assert sorted(os.listdir(target)) == ["b.txt"] and os.listdir(tmp_path) == ["report"]


def test_replace_and_remove_directory(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    (old / "x").write_text("old")
    new.mkdir()
    (new / "x").write_text("new")
    replace_directory(new, old)
    assert (old / "x").read_text() == "new" and os.listdir(tmp_path) == ["old"]
    remove_directory(old)
    assert os.listdir(tmp_path) == []
    remove_directory(old)  # already gone: fine


def test_describe_os_error() -> None:
    assert describe_os_error(OSError(errno.ENOSPC, "x")) == "no space left on the device"
    assert describe_os_error(OSError(errno.EROFS, "x")) == "read-only file system"
    assert describe_os_error(OSError(errno.EBADF, "Bad file descriptor")) == "Bad file descriptor"


class TestCheckOutputPath:
    def test_refuses_an_input(self, tmp_path: Path) -> None:
        image = tmp_path / "face.jpg"
        image.write_bytes(b"jpeg")
        with pytest.raises(OutputError, match=r"--output .*face\.jpg is one of the inputs"):
            check_output_path(image, flag="--output", inputs=[image], overwrite=True)
        link = tmp_path / "alias.jpg"
        link.symlink_to(image)
        with pytest.raises(OutputError, match="one of the inputs"):
            check_output_path(link, flag="--output", inputs=[image], overwrite=True)
        with pytest.raises(OutputError, match="holds one of the inputs"):
            check_output_path(tmp_path, flag="--out", kind="folder", inputs=[image], overwrite=True)

    def test_refuses_the_model_folder(self, tmp_path: Path) -> None:
        model = tmp_path / "model"
        model.mkdir()
        (model / "config.json").write_text("{}")
        for path in (model / "config.json", model / "new.csv"):
            with pytest.raises(OutputError, match="inside the model folder"):
                check_output_path(path, flag="--output", protected=[model], overwrite=True)
        with pytest.raises(OutputError, match="inside the model folder"):
            check_output_path(tmp_path, flag="--out", kind="folder", protected=[model], overwrite=True)

    def test_existing_needs_overwrite(self, tmp_path: Path) -> None:
        existing = tmp_path / "preds.csv"
        existing.write_text("x")
        with pytest.raises(OutputError, match="already exists; pass --overwrite"):
            check_output_path(existing, flag="--output")
        assert check_output_path(existing, flag="--output", overwrite=True) == existing.resolve()
        (tmp_path / "empty").mkdir()
        check_output_path(tmp_path / "empty", flag="--out", kind="folder")
        with pytest.raises(OutputError, match="already exists and is not empty"):
            check_output_path(tmp_path, flag="--out", kind="folder")

    def test_kind_and_location(self, tmp_path: Path) -> None:
        (tmp_path / "folder").mkdir()
        (tmp_path / "file").write_text("x")
        with pytest.raises(OutputError, match="is a folder; pass a file path"):
            check_output_path(tmp_path / "folder", flag="--output", overwrite=True)
        with pytest.raises(OutputError, match="is a file; pass a folder path"):
            check_output_path(tmp_path / "file", flag="--out", kind="folder", overwrite=True)
        with pytest.raises(OutputError, match=r"cannot create it, .*file is a file, not a folder"):
            check_output_path(tmp_path / "file" / "sub" / "out.csv", flag="--output")
        check_output_path(tmp_path / "new" / "deeper" / "out.csv", flag="--output")  # can be created
        assert not (tmp_path / "new").exists()  # checking creates nothing

    @pytest.mark.skipif(
        os.geteuid() == 0, reason="root writes anywhere; see tests/cli for the unprivileged run"
    )
    def test_unwritable_folder(self, tmp_path: Path) -> None:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        try:
            with pytest.raises(OutputError, match=r"cannot write in .*locked .permission denied"):
                check_output_path(locked / "out.csv", flag="--output")
        finally:
            locked.chmod(0o755)
