"""Atomic writes: readers see the old output or the new one, and a failure never replaces the old one."""

from __future__ import annotations

import json
import os
import stat

import pytest

from oca_experiments import _atomic
from oca_experiments._atomic import atomic_write_bytes, atomic_write_json, atomic_write_text, staged_directory


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_write_text_creates_and_replaces_without_leftovers(tmp_path):
    target = tmp_path / "notes.txt"
    atomic_write_text(target, "first\n")
    atomic_write_text(target, "second\r\nline\n")
    assert target.read_bytes() == b"second\r\nline\n"  # no newline translation
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_write_bytes_round_trips_and_respects_umask(tmp_path):
    target = tmp_path / "blob.bin"
    returned = atomic_write_bytes(target, b"\x00\xffdata")
    assert returned == target
    assert target.read_bytes() == b"\x00\xffdata"
    if os.name == "posix":
        assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_current_umask()


def test_write_json_keeps_order_unicode_and_writes_nan_as_null(tmp_path):
    target = tmp_path / "results.json"
    atomic_write_json(target, {"zeta": 1, "alpha": [1.5, float("nan")], "site": "Джалал-Абад",
                               "nested": {"p_value": float("nan")}})
    text = target.read_text(encoding="utf-8")
    assert text.endswith("\n")
    assert '"site": "Джалал-Абад"' in text
    assert text.index('"zeta"') < text.index('"alpha"')
    assert '\n  "zeta": 1,' in text  # indent 2
    assert json.loads(text) == {"zeta": 1, "alpha": [1.5, None], "site": "Джалал-Абад",
                                "nested": {"p_value": None}}


@pytest.mark.parametrize("bad_value", [float("inf"), object()], ids=["infinity", "not-serializable"])
def test_failed_json_write_keeps_previous_file(tmp_path, bad_value):
    target = tmp_path / "results.json"
    atomic_write_json(target, {"ok": True})
    with pytest.raises((ValueError, TypeError)):
        atomic_write_json(target, {"ok": bad_value})
    assert json.loads(target.read_text(encoding="utf-8")) == {"ok": True}
    assert os.listdir(tmp_path) == ["results.json"]


def test_failed_replace_keeps_previous_file_and_removes_temporary(tmp_path, monkeypatch):
    target = tmp_path / "index.html"
    atomic_write_text(target, "good")

    def refuse(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(_atomic.os, "replace", refuse)
    with pytest.raises(OSError):
        atomic_write_text(target, "half-written")
    assert target.read_text() == "good"
    assert os.listdir(tmp_path) == ["index.html"]


def test_staged_directory_creates_a_missing_directory(tmp_path):
    final = tmp_path / "report"
    with staged_directory(final) as staging:
        assert staging.parent == tmp_path
        assert staging.name.startswith(".report.") and str(os.getpid()) in staging.name
        assert list(staging.iterdir()) == []
        (staging / "index.html").write_text("new")
    assert (final / "index.html").read_text() == "new"
    assert os.listdir(tmp_path) == ["report"]


def test_staged_directory_replaces_the_old_directory_on_success(tmp_path):
    final = tmp_path / "report"
    final.mkdir()
    (final / "index.html").write_text("old")
    (final / "stale.png").write_text("old")
    with staged_directory(final) as staging:
        (staging / "index.html").write_text("new")
        assert (final / "index.html").read_text() == "old"  # untouched until the block succeeds
    assert sorted(os.listdir(final)) == ["index.html"]
    assert (final / "index.html").read_text() == "new"
    assert os.listdir(tmp_path) == ["report"]


def test_staged_directory_keeps_the_old_directory_on_error(tmp_path):
    final = tmp_path / "report"
    final.mkdir()
    (final / "index.html").write_text("old")
    with pytest.raises(RuntimeError, match="notebook failed"):
        with staged_directory(final) as staging:
            (staging / "index.html").write_text("broken")
            raise RuntimeError("notebook failed")
    assert (final / "index.html").read_text() == "old"
    assert os.listdir(tmp_path) == ["report"]


def test_staged_directory_restores_the_old_directory_when_the_swap_fails(tmp_path, monkeypatch):
    final = tmp_path / "report"
    final.mkdir()
    (final / "index.html").write_text("old")
    real_rename = os.rename
    calls = []

    def rename_failing_second_time(source, destination):
        calls.append((source, destination))
        if len(calls) == 2:  # old → aside succeeded; staging → final fails
            raise OSError("cross-device link")
        real_rename(source, destination)

    with pytest.raises(OSError):
        with staged_directory(final) as staging:
            (staging / "index.html").write_text("new")
            monkeypatch.setattr(_atomic.os, "rename", rename_failing_second_time)
    monkeypatch.undo()
    assert (final / "index.html").read_text() == "old"
    assert os.listdir(tmp_path) == ["report"]
