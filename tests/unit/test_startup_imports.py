"""Start-up stays fast: the CLI entry point must not pull the heavy scientific stack (issue 21).

Not timed: it checks *which* modules a fresh interpreter has loaded, which is deterministic.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# Each of these cost seconds on import (scipy.stats ~1.7 s, Great Expectations 10-19 s, nutpie/arviz ~10 s).
FORBIDDEN = ("scipy.stats", "great_expectations", "pymc", "nutpie", "arviz", "statsmodels", "matplotlib", "pandas",
             "numpy")

_PROBE = """
import json, sys
sys.argv = json.loads(sys.argv[1])
if sys.argv[0] == "entry":  # the console script's target, `oca_experiments.__main__:main`
    sys.argv[0] = "oca"
    from oca_experiments.__main__ import main
else:
    from oca_experiments.cli import main
code = 0
if sys.argv[1:]:
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0
sys.stdout.flush()
print("\\n@@MODULES@@" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _without_renderer_settings(environ: os._Environ[str] | dict[str, str]) -> dict[str, str]:
    """The environment minus what typer/click/rich read beyond the width (``CI``, ``NO_COLOR``, ``TYPER_*``...).

    A CI runner sets ``CI=true``; the entry point then rightly refuses the pre-rendered help and asks typer, so the
    probes start from a neutral environment and the tests that want those variables pass them explicitly."""
    from oca_experiments._cli_help import _UNSERVED_ENV, _UNSERVED_PREFIXES

    return {k: v for k, v in environ.items() if k not in _UNSERVED_ENV and not k.startswith(_UNSERVED_PREFIXES)}


def _probe(cli_args: list[str], entry: bool = False, **extra_env: str) -> tuple[int, set[str], str]:
    """Exit code, loaded modules and stdout of one fresh interpreter running the CLI with ``cli_args``."""
    env = {**_without_renderer_settings(os.environ), **extra_env}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(["entry" if entry else "oca", *cli_args])],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300, check=False,
    )
    marker = proc.stdout.rfind("\n@@MODULES@@")
    assert marker >= 0, f"probe failed: {proc.stderr[-2000:]}"
    payload = json.loads(proc.stdout[marker + len("\n@@MODULES@@"):])
    return payload["code"], set(payload["modules"]), proc.stdout[:marker]


def _modules_after(cli_args: list[str]) -> tuple[int, set[str]]:
    code, modules, _ = _probe(cli_args)
    return code, modules


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))


@pytest.mark.parametrize("cli_args", [[], ["--help"], ["--version"]], ids=["import", "help", "version"])
def test_cli_start_up_does_not_import_heavy_stack(cli_args: list[str]) -> None:
    code, modules = _modules_after(cli_args)
    assert code == 0
    assert "oca_experiments.cli" in modules
    assert _heavy(modules) == []


def test_version_answers_before_the_command_line_is_imported() -> None:
    code, modules, out = _probe(["--version"], entry=True)
    _, _, typer_out = _probe(["--version"])  # what the typer app itself prints
    assert code == 0
    assert out == typer_out and out.startswith("oca ")
    assert "typer" not in modules and "oca_experiments.cli" not in modules
    assert _heavy(modules) == []


def test_first_help_is_typers_text_without_typer(tmp_path: Path) -> None:
    """Pre-rendered at build time (``_cli_help``): the first call with an empty cache imports no typer either."""
    for columns in ("97", "40", "250"):
        env = {"XDG_CACHE_HOME": str(tmp_path), "COLUMNS": columns}
        _, _, typer_out = _probe(["--help"], **env)
        code, modules, first = _probe(["--help"], entry=True, **env)
        assert code == 0 and first == typer_out and "Commands" in first
        assert "typer" not in modules and "rich" not in modules and "click" not in modules
        assert "oca_experiments.cli" not in modules and _heavy(modules) == []
    assert not (tmp_path / "oca_experiments").exists()  # nothing cached: nothing to cache


@pytest.mark.parametrize("setting", [{"CI": "true"}, {"GITHUB_ACTIONS": "true"}, {"NO_COLOR": "1"}],
                         ids=["ci", "github-actions", "no-color"])
def test_a_renderer_setting_falls_back_to_typer_and_prints_the_same(tmp_path: Path, setting: dict[str, str]) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path), "COLUMNS": "97", "OCA_CACHE": "off", **setting}
    _, _, typer_out = _probe(["--help"], **env)
    code, modules, first = _probe(["--help"], entry=True, **env)
    assert code == 0 and first == typer_out and "Commands" in first
    assert "typer" in modules  # not served from the file: typer was asked


def test_help_is_typers_text_and_served_from_the_cache_without_typer(tmp_path: Path) -> None:
    # 300 columns is beyond the pre-rendered widths: typer renders the first call and the cache serves the next
    env = {"XDG_CACHE_HOME": str(tmp_path), "COLUMNS": "300"}
    _, _, typer_out = _probe(["--help"], **env)  # rendered by the typer app directly, no cache involved
    first_code, first_modules, first = _probe(["--help"], entry=True, **env)  # cache miss: typer renders it
    second_code, second_modules, second = _probe(["--help"], entry=True, **env)  # cache hit
    assert first_code == second_code == 0
    assert first == second == typer_out
    assert "Commands" in typer_out and "validate" in typer_out
    assert "typer" in first_modules
    assert "typer" not in second_modules and "rich" not in second_modules
    assert _heavy(second_modules) == []
    assert len(list((tmp_path / "oca_experiments" / "help").glob("*.txt"))) == 1

    _, _, narrower = _probe(["--help"], entry=True, **{**env, "COLUMNS": "261"})  # another width: a new key
    _, _, narrower_typer = _probe(["--help"], **{**env, "COLUMNS": "261"})
    assert narrower == narrower_typer != typer_out
    assert len(list((tmp_path / "oca_experiments" / "help").glob("*.txt"))) == 2


def test_help_cache_follows_the_run_cache_settings(tmp_path: Path) -> None:
    env = {"COLUMNS": "300"}  # not pre-rendered
    code, modules, out = _probe(["--help"], entry=True, XDG_CACHE_HOME=str(tmp_path), OCA_CACHE="off", **env)
    assert code == 0 and "Commands" in out and "typer" in modules
    assert not (tmp_path / "oca_experiments").exists()
    code, _, moved = _probe(["--help"], entry=True, XDG_CACHE_HOME=str(tmp_path), OCA_CACHE_DIR=str(tmp_path / "c"),
                            **env)
    assert code == 0 and moved == out
    assert len(list((tmp_path / "c" / "help").glob("*.txt"))) == 1


@pytest.mark.parametrize("environ", [
    {}, {"XDG_CACHE_HOME": "/x/cache"}, {"OCA_CACHE_DIR": "/y/oca"}, {"OCA_CACHE_DIR": "/y", "XDG_CACHE_HOME": "/x"},
    {"OCA_CACHE": "off"}, {"OCA_CACHE": "No", "OCA_CACHE_DIR": "/y"}, {"OCA_CACHE": "on", "XDG_CACHE_HOME": "/x"},
])
def test_help_cache_folder_is_the_runtime_cache_folder(environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    from oca_experiments import __main__ as entry
    from oca_experiments.runtime import RunSettings

    for name in ("OCA_CACHE", "OCA_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    expected = RunSettings.from_environment().cache_dir
    assert entry._cache_dir() == (None if expected is None else str(expected))


def test_other_command_lines_reach_the_typer_app(tmp_path: Path) -> None:
    code, modules, out = _probe(["prereg", "--help"], entry=True, XDG_CACHE_HOME=str(tmp_path))
    assert code == 0 and "lock" in out and "oca_experiments.cli" in modules
    assert not (tmp_path / "oca_experiments").exists()


def test_package_exports_still_resolve_lazily() -> None:
    import oca_experiments

    for name in oca_experiments.__all__:
        assert getattr(oca_experiments, name) is not None, name
    with pytest.raises(AttributeError):
        getattr(oca_experiments, "no_such_export")  # noqa: B009
