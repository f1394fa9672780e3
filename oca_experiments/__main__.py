"""``python -m oca_experiments`` and the ``oca`` console script.

``oca --version`` and ``oca --help`` answer before the command line is imported: typer, click and rich are most
of a start-up (issue 21). ``--version`` needs only ``_version``. ``--help`` prints the text typer rendered when the
package was built (``_cli_help``: both program names, plain or terminal, 40 to 250 columns; its test keeps it equal
to typer's rendering). Anywhere else (another width, an environment variable that changes rich's output) typer
renders it the first time and its exact text is kept in the user's cache, keyed on everything that shapes it (the
package's and typer's/rich's source files, the program name, the terminal size, whether the streams are terminals,
and the environment variables rich and typer read); later calls with the same key print that text without importing typer. The cache
folder follows the run caches' settings (``OCA_CACHE=off`` turns it off, ``OCA_CACHE_DIR`` moves it). ``oca run``
and ``oca demo`` first ask ``_cli_rerun`` whether nothing they depend on changed since the same command line last
succeeded; then the recorded answer is printed without importing the command line. Any other command line goes
straight to ``oca_experiments.cli``.
"""

from __future__ import annotations

import os
import sys

# Environment variables that change what typer/rich print (colour, width, markup); the prefixes catch the rest.
_RENDER_ENV = ("COLUMNS", "LINES", "TERM", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "PY_COLORS", "CLICOLOR",
               "CLICOLOR_FORCE", "TERMINAL_WIDTH", "GITHUB_ACTIONS", "CI", "LANG", "LC_ALL", "LC_CTYPE",
               "PYTHONIOENCODING")
_RENDER_ENV_PREFIXES = ("TYPER", "_TYPER", "RICH", "CLICK", "TTY_", "JPY_", "JUPYTER", "VSCODE", "DATABRICKS")


def main() -> None:
    args = sys.argv[1:]
    if args == ["--version"]:
        from ._version import __version__

        sys.stdout.write(f"oca {__version__}\n")
        sys.stdout.flush()
        return
    if args == ["--help"]:
        _help()
        return
    if args[:1] in (["run"], ["demo"]) and "--help" not in args:
        # A rerun with nothing changed prints its recorded answer without importing the scientific stack.
        from ._cli_rerun import answer_unchanged

        code = answer_unchanged(sys.argv[1:], _cache_dir())
        if code is not None:
            raise SystemExit(code)
    from .cli import main as cli_main

    cli_main()


def _help() -> None:
    from ._cli_help import lookup, served_variant

    variant = served_variant(sys.argv[0], sys.modules.get("__main__"), sys.stdout, os.environ)
    text = lookup(variant) if variant is not None else None
    if text is not None:  # pre-rendered by typer when the package was built (the usual case, first call included)
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = _help_cache_path()
    try:
        if path is None:  # caching off: render with typer every time
            raise FileNotFoundError
        with open(path, encoding="utf-8", newline="") as cached:
            sys.stdout.write(cached.read())
        sys.stdout.flush()
        return
    except OSError:
        pass
    text, code = _render_help()
    sys.stdout.write(text)
    sys.stdout.flush()
    if code == 0 and text and path is not None:
        _store(path, text)
    if code:
        raise SystemExit(code)


def _render_help() -> tuple[str, int]:
    """Typer renders the help into a buffer that answers ``isatty`` and ``encoding`` as the real stdout does, so
    the text (colours and box characters included) is what a direct call would print."""
    import contextlib
    import io

    real = sys.stdout

    class _Capture(io.StringIO):
        @property
        def encoding(self) -> str:  # type: ignore[override]
            return getattr(real, "encoding", None) or "utf-8"

        def isatty(self) -> bool:
            return bool(getattr(real, "isatty", lambda: False)())

    buffer = _Capture()
    code: int = 0
    with contextlib.redirect_stdout(buffer):
        from .cli import main as cli_main

        try:
            cli_main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return buffer.getvalue(), code


def _cache_dir() -> str | None:
    """The rule of ``runtime.RunSettings.from_environment`` (``OCA_CACHE=off``, ``OCA_CACHE_DIR``,
    ``XDG_CACHE_HOME``), mirrored because importing ``runtime`` (pathlib, dataclasses) costs about a bare
    interpreter's start-up; tests/unit/test_startup_imports.py checks that the two agree."""
    if os.environ.get("OCA_CACHE", "").lower() in {"off", "0", "false", "no"}:
        return None
    if os.environ.get("OCA_CACHE_DIR"):
        return os.environ["OCA_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "oca_experiments")


def _help_cache_path() -> str | None:
    folder = _cache_dir()
    if folder is None or not os.path.isabs(folder):  # no cache, or no home to put it in
        return None
    return os.path.join(folder, "help", _help_key() + ".txt")


def _help_key() -> str:
    import hashlib

    parts: list[object] = [sys.version, sys.executable, sys.argv[0],
                           getattr(sys.modules.get("__main__"), "__package__", None)]
    parts += sorted((k, v) for k, v in os.environ.items()
                    if k in _RENDER_ENV or k.startswith(_RENDER_ENV_PREFIXES))
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        parts.append((_isatty(stream), getattr(stream, "encoding", None)))
    for fd in (0, 1, 2):
        try:
            parts.append(tuple(os.get_terminal_size(fd)))
        except (OSError, ValueError):
            parts.append(None)
    parts += _source_stamps()
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


def _source_stamps() -> list[tuple[str, int, int]]:
    """Size and modification time of this package's top-level modules (commands, options, docstrings) and of the
    libraries that render the help: an edit or an upgrade makes a new key."""
    from importlib.machinery import PathFinder

    folders = [os.path.dirname(os.path.abspath(__file__))]
    for library in ("typer", "rich", "click"):
        spec = PathFinder.find_spec(library)
        if spec is not None and spec.origin:
            folders.append(os.path.dirname(spec.origin))
    stamps = []
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith(".py"):
                stat = entry.stat()
                stamps.append((entry.path, stat.st_size, stat.st_mtime_ns))
    return sorted(stamps)


def _store(path: str, text: str) -> None:
    """Atomic write; a cache that cannot be written (read-only home) only costs the next call its speed."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temporary, path)
    except OSError:
        pass


# Guarded: worker processes started with "spawn" import this module as __mp_main__ and must not rerun the CLI.
if __name__ == "__main__":
    main()
