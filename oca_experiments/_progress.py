"""Who hears about progress: the command line listens, the library never prints.

``listening(callback)`` sets a listener for the current context (a ContextVar, so threads and nested runs do not
see each other's); ``hypothesis_finished(result)`` is called by the runner as each hypothesis is done and returns
the result unchanged, so it can wrap an expression.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

_LISTENER: ContextVar[Callable[[Any], None] | None] = ContextVar("oca_hypothesis_listener", default=None)
_STARTER: ContextVar[Callable[[Any], None] | None] = ContextVar("oca_hypothesis_starter", default=None)
T = TypeVar("T")


@contextmanager
def listening(callback: Callable[[Any], None], started: Callable[[Any], None] | None = None) -> Iterator[None]:
    """``callback(result)`` as each hypothesis finishes; ``started(task)`` as each begins (for a progress line)."""
    token, start_token = _LISTENER.set(callback), _STARTER.set(started)
    try:
        yield
    finally:
        _LISTENER.reset(token)
        _STARTER.reset(start_token)


def hypothesis_started(task: T) -> T:
    starter = _STARTER.get()
    if starter is not None:
        starter(task)
    return task


def hypothesis_finished(result: T) -> T:
    listener = _LISTENER.get()
    if listener is not None:
        listener(result)
    return result


# --- step progress: long loops (bootstraps, randomization inference, sampling, ingest, report) -----------------

_STEP_STREAM: ContextVar[Any | None] = ContextVar("oca_step_stream", default=None)


class _Step:
    """One long step's progress on the listening stream; ``advance`` is a no-op when nobody listens. Prints a
    line at each tenth of the way (counted in steps, never timed) so that output does not depend on speed."""

    def __init__(self, label: str, total: int, stream: Any | None) -> None:
        self.label, self.total, self.stream, self.done, self._shown = label, max(int(total), 0), stream, 0, -1

    def start(self) -> None:
        self._show()

    def advance(self, n: int = 1) -> None:
        if self.stream is None:
            return
        self.done = min(self.done + int(n), self.total) if self.total else self.done + int(n)
        self._show()

    def finish(self) -> None:
        if self.stream is None:
            return
        self.done = self.total or self.done
        self._show(final=True)

    def _show(self, final: bool = False) -> None:
        if self.stream is None:
            return
        tenth = (10 * self.done // self.total) if self.total else 0
        if tenth == self._shown and not final:
            return
        self._shown = tenth
        count = f"{self.done}/{self.total}" if self.total else f"{self.done}"
        self.stream.write(f"\r{self.label}: {count}" + ("\n" if final else ""))
        self.stream.flush()


@contextmanager
def showing_steps(stream: Any) -> Iterator[None]:
    """Long steps report to ``stream`` while inside, only when it is a terminal (pipes, logs, CI stay clean)."""
    is_tty = bool(getattr(stream, "isatty", lambda: False)())
    token = _STEP_STREAM.set(stream if is_tty else None)
    try:
        yield
    finally:
        _STEP_STREAM.reset(token)


@contextmanager
def step(label: str, total: int) -> Iterator[_Step]:
    """``with step("wild bootstrap", draws) as s: ... s.advance(k)``; silent unless ``showing_steps`` is on a TTY.
    Progress never enters results."""
    progress = _Step(label, total, _STEP_STREAM.get())
    progress.start()
    try:
        yield progress
    finally:
        progress.finish()
