"""The pre-rendered ``oca --help`` (``oca_experiments/_cli_help.dat``) is typer's own rendering (issue 21).

A changed command, option or docstring makes these tests fail until the file is regenerated with
``python -m oca_experiments._cli_help``. Not timed.
"""

from __future__ import annotations

import io
import shutil
import types
from pathlib import Path

import pytest

from oca_experiments import _cli_help

SAMPLE_WIDTHS = (_cli_help.MIN_WIDTH, 57, 80, 123, 200, _cli_help.MAX_WIDTH)


@pytest.mark.parametrize("mode", _cli_help.MODES)
@pytest.mark.parametrize("prog", _cli_help.PROGS)
def test_the_file_holds_typers_rendering(prog: str, mode: str) -> None:
    for width in SAMPLE_WIDTHS:
        stored = _cli_help.lookup((prog, mode, width))
        assert stored is not None, "regenerate: python -m oca_experiments._cli_help"
        assert stored == _cli_help.render(prog, mode, width), (prog, mode, width)
    assert ("\x1b[" in stored) == (mode == "terminal")


def test_a_changed_command_module_is_not_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = Path(_cli_help.DATA_FILE).parent
    copy = tmp_path / "oca_experiments"
    copy.mkdir()
    for path in [package / "cli.py", package / "_cli_help.dat", *package.glob("_cli_*.py")]:
        shutil.copy(path, copy / path.name)
    monkeypatch.setattr(_cli_help, "DATA_FILE", str(copy / "_cli_help.dat"))
    variant = ("oca", "plain", 80)
    assert _cli_help.lookup(variant, str(copy / "_cli_help.dat")) is not None
    with (copy / "_cli_data.py").open("a", encoding="utf-8") as handle:
        handle.write("\n# a new option's help would change the text\n")
    assert _cli_help.lookup(variant, str(copy / "_cli_help.dat")) is None


class _Stream(io.StringIO):
    def __init__(self, tty: bool, encoding: str = "utf-8") -> None:
        super().__init__()
        self._tty, self._encoding = tty, encoding

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding

    def isatty(self) -> bool:
        return self._tty


SCRIPT = types.SimpleNamespace(__package__=None)
MODULE = types.SimpleNamespace(__package__="oca_experiments")


@pytest.mark.parametrize(("argv0", "main", "environ", "stream", "expected"), [
    ("/venv/bin/oca", SCRIPT, {"COLUMNS": "97"}, _Stream(False), ("oca", "plain", 97)),
    ("/src/oca_experiments/__main__.py", MODULE, {"COLUMNS": "61", "TERM": "xterm"}, _Stream(True),
     ("python -m oca_experiments", "terminal", 61)),
    ("oca", SCRIPT, {"COLUMNS": "97", "COLORTERM": "truecolor", "LANG": "C.UTF-8"}, _Stream(True),
     ("oca", "terminal", 97)),
    ("oca", SCRIPT, {"COLUMNS": "97", "NO_COLOR": "1"}, _Stream(True), None),
    ("oca", SCRIPT, {"COLUMNS": "97", "FORCE_COLOR": "1"}, _Stream(False), None),
    ("oca", SCRIPT, {"COLUMNS": "97", "TERMINAL_WIDTH": "70"}, _Stream(False), None),
    ("oca", SCRIPT, {"COLUMNS": "97", "_TYPER_FORCE_DISABLE_TERMINAL": "1"}, _Stream(False), None),
    ("oca", SCRIPT, {"COLUMNS": "97", "TERM": "dumb"}, _Stream(True), None),
    ("oca", SCRIPT, {"COLUMNS": "97"}, _Stream(False, "cp1252"), None),
    ("oca", SCRIPT, {"COLUMNS": "39"}, _Stream(False), None),
    ("oca", SCRIPT, {"COLUMNS": "251"}, _Stream(False), None),
    ("ocax", SCRIPT, {"COLUMNS": "97"}, _Stream(False), None),
])
def test_served_only_where_the_texts_were_made_for(argv0, main, environ, stream, expected) -> None:
    assert _cli_help.served_variant(argv0, main, stream, environ) == expected


@pytest.mark.parametrize(("argv0", "main"), [
    ("/venv/bin/oca", SCRIPT), ("/src/oca_experiments/__main__.py", MODULE), ("/src/oca_experiments/cli.py", MODULE),
])
def test_program_name_is_clicks(argv0: str, main: object) -> None:
    from click.utils import _detect_program_name

    assert _cli_help.program_name(argv0, main) == _detect_program_name(argv0, _main=main)
