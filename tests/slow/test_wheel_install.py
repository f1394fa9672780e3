"""Issue 19, acceptance 3: the built wheel, installed into a fresh venv, gives a working ``oca`` whose ``oca demo``
runs from a folder outside the repository (the demo study and the built-in report ship inside the package).

How it stays cheap and offline: the wheel is built with ``pip wheel --no-deps`` (hatchling from the configured
index, or the one in this environment), and installed with ``--no-deps`` into a new ``python -m venv
--without-pip`` venv. The venv gets the *dependencies* from the test environment's site-packages through a
``.pth`` line, which adds that folder to ``sys.path`` after the venv's own site-packages (and, unlike
``--system-site-packages``, processes none of its ``.pth`` files, so the source checkout's editable install is not
on the path); ``JUPYTER_PATH`` points at the environment's ``share/jupyter`` (nbconvert's templates, which a real
install puts under the venv's prefix). What is proven is the wheel itself: its files, its package data, its console script and its metadata;
re-downloading 1.4 GB of dependencies would prove only the index.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None,
         timeout: int = 900) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "--wheel-dir", str(out), str(REPO)],
         cwd=out)
    (built,) = out.glob("oca_experiments-*.whl")
    return built


def test_the_wheel_holds_the_demo_study_the_report_and_core_only_requirements(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(metadata_name).decode("utf-8"))
    for needed in ("oca_experiments/py.typed", "oca_experiments/_demo_study/study.yaml",
                   "oca_experiments/_demo_study/reports/report.ipynb",
                   "oca_experiments/_demo_study/data_contracts/survey.json",
                   "oca_experiments/_demo_study/analysis/engagement.py",
                   "oca_experiments/_demo_study/hypotheses/registry.lock.json",
                   "oca_experiments/locale/ru/LC_MESSAGES/oca.po"):
        assert needed in names, needed
    requires = metadata.get_all("Requires-Dist") or []
    core = [r for r in requires if "extra ==" not in r]
    for heavy in ("pymc", "nutpie", "numba", "dask", "arviz", "linearmodels", "papermill"):
        assert not any(r.lower().startswith(heavy) for r in core), (heavy, core)
    assert {"bayes", "dask", "dev"} <= set(metadata.get_all("Provides-Extra") or [])
    assert any(r.startswith("numba") and "extra == 'bayes'" in r.replace('"', "'") for r in requires)


def test_oca_demo_from_a_fresh_venv_outside_the_repository(wheel: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=tmp_path).stdout.strip())
    (site / "_oca_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--ignore-installed",
          "--no-index", "--disable-pip-version-check", str(wheel)], cwd=tmp_path)

    elsewhere = tmp_path / "somewhere_else"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # Dependencies' data files (nbconvert's HTML templates) live under their installation's prefix, which a real
    # install would have put in the venv: point Jupyter at the test environment's copy.
    env["JUPYTER_PATH"] = str(Path(sysconfig.get_paths()["data"]) / "share" / "jupyter")
    where = _run([str(python), "-c", "import oca_experiments, oca_experiments.api as r; "
                                     "print(oca_experiments.__file__); print(r.demo_study_dir())"],
                 cwd=elsewhere, env=env).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where  # the wheel's copy, not the checkout
    oca = str(venv / "bin" / "oca")
    assert _run([oca, "--version"], cwd=elsewhere, env=env).stdout.startswith("oca ")
    done = _run([oca, "demo", "--out", "demo"], cwd=elsewhere, env=env)
    assert "wrote " in done.stdout and "demo/results.json" in done.stdout  # every file written is listed
    results = json.loads((elsewhere / "demo" / "results.json").read_text(encoding="utf-8"))
    assert len(results["hypotheses"]) >= 8
    assert all(h["status"] == "estimated" for h in results["hypotheses"])
    assert (elsewhere / "demo" / "report" / "index.html").stat().st_size > 10_000
