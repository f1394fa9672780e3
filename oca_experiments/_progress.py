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
