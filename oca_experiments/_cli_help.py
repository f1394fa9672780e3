"""``oca --help`` pre-rendered by typer at build time, so that even the first call answers without importing typer
(issue 21: the root help within 5x a bare interpreter's start-up, first call included).

``_cli_help.dat`` holds the root help exactly as typer/rich render it, for both program names click can show
(``oca``, ``python -m oca_experiments``), for a plain stream and for a terminal (colours and bold), at every width
from ``MIN_WIDTH`` to ``MAX_WIDTH`` columns. ``served_variant`` mirrors how click and rich choose these (program
name, terminal or not, width from ``COLUMNS`` or the terminal) and answers ``None`` whenever anything else could
change the rendering (an environment variable typer/rich read beyond ``COLUMNS``/``LINES``/``TERM``/``COLORTERM``/
locale, a non-UTF-8 stream, a dumb terminal, a width outside the range); the entry point then falls back to the
user-cache/typer path. tests/unit/test_cli_help.py renders a sample of variants with typer and compares them with
the file, so a changed command, option or docstring fails the suite until the file is regenerated:

    python -m oca_experiments._cli_help    # rewrites oca_experiments/_cli_help.dat

File format: one JSON line ``{"source": source_digest(), "index": {"<prog>|<mode>|<width>": [offset, length],
"<prog>|<mode>|dictionary": [offset, length]}}``, then the compressed texts at those offsets (counted from the end of the header line); each
text is deflated with its pair's ``dictionary`` entry (itself plain zlib) as the preset dictionary.
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from typing import Any

DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_cli_help.dat")
PROGS = ("oca", "python -m oca_experiments")
MODES = ("plain", "terminal")
MIN_WIDTH, MAX_WIDTH = 40, 250
_ANCHOR_WIDTH = 150
#: Environment variables typer, click or rich read that the pre-rendered texts were not made for (any of these set:
#: not served). COLUMNS, LINES, TERM, COLORTERM and the locale are handled (width, colours, the stream's encoding).
_UNSERVED_ENV = ("NO_COLOR", "FORCE_COLOR", "PY_COLORS", "CLICOLOR", "CLICOLOR_FORCE", "TERMINAL_WIDTH",
                 "GITHUB_ACTIONS", "CI")
_UNSERVED_PREFIXES = ("TYPER", "_TYPER", "RICH", "CLICK", "TTY_", "JPY_", "JUPYTER", "VSCODE", "DATABRICKS")
_NOT_HELP = ("_cli_help.py", "_cli_rerun.py")
_RENDERERS = {"typer", "click", "rich"}
_GENERATION_ENV = ("COLUMNS", "LINES", "TERM", "COLORTERM", *_UNSERVED_ENV)


def program_name(argv0: str, main_module: Any) -> str:
    """What click shows after ``Usage:`` (``click.utils._detect_program_name``)."""
    package = getattr(main_module, "__package__", None)
    if package in {None, ""}:
        return os.path.basename(argv0)
    name = os.path.splitext(os.path.basename(argv0))[0]
    module = package if name == "__main__" else f"{package}.{name}"
    return f"python -m {module.lstrip('.')}"


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _width(environ: Any) -> int:
    """rich's ``Console`` width: ``COLUMNS`` when a number, else the first standard stream's terminal, else 80."""
    columns = environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        return int(columns)
    width = 0
    for fd in (0, 1, 2):
        try:
            width = os.get_terminal_size(fd).columns
        except (OSError, ValueError, AttributeError):
            continue
        break
    return width or 80


def served_variant(argv0: str, main_module: Any, stdout: Any, environ: Any) -> tuple[str, str, int] | None:
    """(program name, mode, width) of the text typer would print here, or ``None`` when it is not pre-rendered."""
    if os.name == "nt" or any(k in environ for k in _UNSERVED_ENV) or any(
            k.startswith(_UNSERVED_PREFIXES) for k in environ):
        return None
    if not str(getattr(stdout, "encoding", "") or "").lower().replace("_", "-").startswith("utf"):
        return None
    terminal = _is_tty(stdout)
    if terminal and environ.get("TERM", "").lower() in {"dumb", "unknown"}:
        return None
    prog = program_name(argv0, main_module)
    width = _width(environ)
    if prog not in PROGS or not MIN_WIDTH <= width <= MAX_WIDTH:
        return None
    return prog, "terminal" if terminal else "plain", width


def _key(prog: str, mode: str, width: int) -> str:
    return f"{prog}|{mode}|{width}"


def source_digest() -> str:
    """What the root help is made of: the command modules' source (names, options, docstrings) and the installed
    typer, click and rich (their ``*.dist-info`` names carry the versions). The file records it; a mismatch (an
    edited command without a regenerated file, an upgraded typer) means the file is not used."""
    # CRC-32 and sizes, not SHA-256: this guards against a forgotten regeneration, not an adversary, and zlib is
    # loaded anyway (hashlib would cost a first call a noticeable share of its budget).
    parts: list[str] = []
    package = os.path.dirname(DATA_FILE)
    for name in sorted(os.listdir(package)):
        if (name == "cli.py" or name.startswith("_cli_") and name.endswith(".py")) and name not in _NOT_HELP:
            with open(os.path.join(package, name), "rb") as handle:
                content = handle.read()
            parts.append(f"{name}:{len(content)}:{zlib.crc32(content):08x}")
    for entry in sys.path:
        try:
            names = os.listdir(entry or os.curdir)
        except OSError:
            continue
        found = sorted(n for n in names if n.endswith(".dist-info") and n.split("-")[0].lower() in _RENDERERS)
        if found:
            parts += found
            break
    return ";".join(parts)


def _anchor(prog: str, mode: str) -> str:
    return f"{prog}|{mode}|dictionary"


def lookup(variant: tuple[str, str, int], path: str = DATA_FILE) -> str | None:
    """The pre-rendered text of ``variant`` (``None`` when absent or unreadable)."""
    try:
        with open(path, "rb") as handle:
            header = json.loads(handle.readline())
            if header.get("source") != source_digest():
                return None
            index = header["index"]
            start = handle.tell()
            where, anchor = index.get(_key(*variant)), index.get(_anchor(*variant[:2]))
            if where is None or anchor is None:
                return None
            handle.seek(start + anchor[0])
            dictionary = zlib.decompress(handle.read(anchor[1]))
            handle.seek(start + where[0])
            inflate = zlib.decompressobj(zdict=dictionary)
            return (inflate.decompress(handle.read(where[1])) + inflate.flush()).decode("utf-8")
    except (OSError, ValueError, KeyError, TypeError, zlib.error):
        return None


# --- rendering with typer (generation and tests only) ----------------------------------------------------------------

def render(prog: str, mode: str, width: int) -> str:
    """The root help as typer prints it for ``prog`` on a ``mode`` stream of ``width`` columns (UTF-8)."""
    import contextlib
    import io

    from .cli import app

    class _Stream(io.StringIO):
        @property
        def encoding(self) -> str:  # type: ignore[override]
            return "utf-8"

        def isatty(self) -> bool:
            return mode == "terminal"

    saved = {k: os.environ.get(k) for k in _GENERATION_ENV}
    for k in _GENERATION_ENV:
        os.environ.pop(k, None)
    os.environ["COLUMNS"] = str(width)
    os.environ["TERM"] = "xterm-256color"
    buffer = _Stream()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
            app(["--help"], prog_name=prog)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return buffer.getvalue()


def generate(path: str = DATA_FILE) -> None:
    """Render every variant with typer and write the file. Texts of one program name and mode differ mostly by
    their wrapping, so each is compressed against that pair's text at ``_ANCHOR_WIDTH`` columns (a zlib preset
    dictionary): about 30 kB per pair instead of 250 kB."""
    blobs: list[bytes] = []
    index: dict[str, list[int]] = {}

    def add(key: str, blob: bytes) -> None:
        index[key] = [sum(len(b) for b in blobs), len(blob)]
        blobs.append(blob)

    for prog in PROGS:
        for mode in MODES:
            dictionary = render(prog, mode, _ANCHOR_WIDTH).encode("utf-8")[-32768:]
            add(_anchor(prog, mode), zlib.compress(dictionary, 9))
            for width in range(MIN_WIDTH, MAX_WIDTH + 1):
                deflate = zlib.compressobj(9, zdict=dictionary)
                add(_key(prog, mode, width), deflate.compress(render(prog, mode, width).encode("utf-8"))
                    + deflate.flush())
    header = json.dumps({"source": source_digest(), "index": index}, sort_keys=True, separators=(",", ":"))
    header_line = header.encode() + b"\n"
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(header_line + b"".join(blobs))
    os.replace(temporary, path)


if __name__ == "__main__":
    generate(sys.argv[1] if len(sys.argv) > 1 else DATA_FILE)
