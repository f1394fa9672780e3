"""scripts/find-python finds a Python >= 3.12 under $PYENV_ROOT and among uv-managed interpreters (issue 19)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "find-python"


def stub(path: Path, *, new_enough: bool = True) -> Path:
    """A fake interpreter that answers the version check and, asked for sys.executable, prints its own path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\ncase \"$2\" in *executable*) echo {path};; esac\nexit {0 if new_enough else 1}\n",
                    encoding="utf-8")
    path.chmod(0o755)
    return path


def find(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    empty_bin = tmp_path / "empty_bin"  # nothing on the PATH, so the PATH and /usr candidates cannot answer first
    empty_bin.mkdir(exist_ok=True)
    base = {"PATH": str(empty_bin), "HOME": str(tmp_path / "home")}
    return subprocess.run(["/bin/sh", str(SCRIPT)], env={**base, **env}, capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.fixture(autouse=True)
def _no_system_python():
    if any(Path(p).exists() for p in ("/usr/local/bin/python3.13", "/usr/local/bin/python3.12",
                                      "/usr/bin/python3.13", "/usr/bin/python3.12")):
        pytest.skip("a system Python >= 3.12 in /usr would answer before the candidates under test")


def test_pyenv_root_is_searched(tmp_path):
    root = tmp_path / "custom_pyenv"
    stub(root / "versions" / "3.11.9" / "bin" / "python3", new_enough=False)
    wanted = stub(root / "versions" / "3.12.4" / "bin" / "python3")
    done = find(tmp_path, PYENV_ROOT=str(root))
    assert done.returncode == 0 and done.stdout.strip() == str(wanted)


def test_uv_managed_interpreters_are_searched(tmp_path):
    wanted = stub(tmp_path / "home" / ".local" / "share" / "uv" / "python" / "cpython-3.12.8-linux-x86_64-gnu"
                  / "bin" / "python3")
    done = find(tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == str(wanted)
    other = stub(tmp_path / "uvdir" / "cpython-3.13.1-linux-x86_64-gnu" / "bin" / "python3")
    done = find(tmp_path, UV_PYTHON_INSTALL_DIR=str(tmp_path / "uvdir"))
    assert done.stdout.strip() == str(other)


def test_nothing_found_says_how_to_fix(tmp_path):
    done = find(tmp_path)
    assert done.returncode == 1 and "OCA_PYTHON" in done.stderr and "uv python install" in done.stderr


def test_a_name_on_the_path_is_printed_as_the_interpreter_path(tmp_path):
    # `uv venv --python python3.12` reads a bare name as a version request and does not find pyenv shims: the
    # Makefile must get the interpreter's own path (a fresh-machine `make demo` with uv failed this way).
    on_path = tmp_path / "bin"
    wanted = stub(on_path / "python3.12")
    done = find(tmp_path, PATH=str(on_path))
    assert done.returncode == 0 and done.stdout.strip() == str(wanted)
