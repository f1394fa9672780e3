"""Where chunks run: in this process, in local worker processes, or on a Dask distributed cluster.

Executors only decide *where* a chunk runs. What it computes depends on the task alone (its seed is derived from
the chunk index, see ``_engine``), and results are returned in task order, so every executor gives identical
results for the same seed. Progress is reported through a callback (the CLI draws the bar; the library prints
nothing).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

from ._parameters import DesignInputError

Progress = Callable[[int], None]
"""Called with the number of tasks that just finished."""

SCHEDULER_SCHEMES = ("tcp", "tls")
CONNECT_TIMEOUT_SECONDS = 15


class Executor(Protocol):
    def map(self, function: Callable[[Any], Any], tasks: Sequence[Any], progress: Progress | None = None,
            ) -> list[Any]: ...

    def describe(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class _Closing:
    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()  # type: ignore[attr-defined]


class SerialExecutor(_Closing):
    """Runs every chunk in this process, one after the other."""

    def map(self, function: Callable[[Any], Any], tasks: Sequence[Any], progress: Progress | None = None,
            ) -> list[Any]:
        results = []
        for task in tasks:
            results.append(function(task))
            if progress:
                progress(1)
        return results

    def describe(self) -> dict[str, Any]:
        return {"kind": "serial", "workers": 1}

    def close(self) -> None:
        pass


class ProcessExecutor(_Closing):
    """Local worker processes (spawned, so no state is inherited by accident). The pool lives until ``close``."""

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise DesignInputError(f"needs at least 1 worker, got {workers}", option="--workers",
                                   fix="give a positive number of local processes")
        self.workers = workers or min(os.cpu_count() or 1, 8)
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def map(self, function: Callable[[Any], Any], tasks: Sequence[Any], progress: Progress | None = None,
            ) -> list[Any]:
        if self.workers == 1 or len(tasks) <= 1:
            return SerialExecutor().map(function, tasks, progress)
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))
        futures = {self._pool.submit(function, task): index for index, task in enumerate(tasks)}
        results: list[Any] = [None] * len(tasks)
        for future in concurrent.futures.as_completed(futures):
            results[futures[future]] = future.result()
            if progress:
                progress(1)
        return results

    def describe(self) -> dict[str, Any]:
        return {"kind": "processes", "workers": self.workers}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def check_scheduler_address(address: str) -> str:
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in SCHEDULER_SCHEMES or not parts.hostname or port is None:
        raise DesignInputError(f"'{address}' is not a Dask scheduler address", option="--scheduler",
                               fix="write it as tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786")
    return address


class DaskExecutor(_Closing):
    """Chunks run as tasks on a ``dask.distributed`` cluster; this process only submits and gathers."""

    def __init__(self, address: str) -> None:
        self.address = check_scheduler_address(address)
        self._client: Any = None

    def _connect(self) -> Any:
        if self._client is None:
            from .._extras import install_hint, missing

            if missing("dask"):
                raise DesignInputError("--scheduler needs Dask's distributed package, which is not installed",
                                       option="--scheduler", fix=f"{install_hint('dask')}, or run without "
                                                                 "--scheduler (local processes)")
            from distributed import Client

            try:
                self._client = Client(self.address, timeout=f"{CONNECT_TIMEOUT_SECONDS}s",
                                      set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise DesignInputError(f"cannot reach the Dask scheduler at {self.address} "
                                       f"({type(exc).__name__})", option="--scheduler",
                                       fix="start it (dask scheduler) or correct the address") from None
        return self._client

    def map(self, function: Callable[[Any], Any], tasks: Sequence[Any], progress: Progress | None = None,
            ) -> list[Any]:
        client = self._connect()
        # pure=False: two equal tasks (e.g. a repeated run) must not be merged into one cached result by key.
        futures = [client.submit(function, task, pure=False) for task in tasks]
        results = []
        try:
            # In task order (the results' order); this client is not the process default, which as_completed needs.
            for future in futures:
                results.append(future.result())
                if progress:
                    progress(1)
            return results
        finally:
            client.cancel(futures)

    def describe(self) -> dict[str, Any]:
        return {"kind": "dask", "scheduler": self.address}

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def make_executor(*, scheduler: str | None = None,
                  workers: int | None = None) -> SerialExecutor | ProcessExecutor | DaskExecutor:
    """Dask when a scheduler is given, else local processes (one worker: this process)."""
    if scheduler:
        return DaskExecutor(scheduler)
    if workers == 1:
        return SerialExecutor()
    return ProcessExecutor(workers)
