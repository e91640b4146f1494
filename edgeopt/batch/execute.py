"""Where tasks run: in this process, in local worker processes, or on a Dask cluster.

All three offer ``put`` (ship a problem once), ``submit`` and ``wait_any``, so
the runner's loop is the same everywhere. Local scale-out uses the standard
library's ``ProcessPoolExecutor``: one process per core, no scheduler to start,
a worker that dies breaks the pool, which ``restart`` replaces; Dask is used only when a
cluster address is given (``--scheduler``), where it earns its keep.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections.abc import Callable
from typing import Any

__all__ = ["Backend", "SerialBackend", "ProcessBackend", "DaskBackend", "make_backend"]


class Backend:
    """Common interface; futures expose ``result()``."""

    name = "backend"
    workers = 1

    def put(self, obj: Any) -> Any:
        """A handle for ``obj`` that ``submit`` accepts as an argument (sent once, not per task)."""
        return obj

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        raise NotImplementedError

    def wait_any(self, futures: set[Any]) -> tuple[set[Any], set[Any]]:
        """Block until at least one future is done; returns (done, not_done)."""
        done, pending = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return set(done), set(pending)

    def restart(self) -> None:
        """Replace broken workers (local pools only)."""

    def close(self, *, cancel: bool = False) -> None:
        pass


class SerialBackend(Backend):
    """Runs each task in this process when submitted (``--workers 1``): no pickling, plain tracebacks."""

    name = "serial"

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future:
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt re-raised below
            if isinstance(exc, KeyboardInterrupt):
                raise
            fut.set_exception(exc)
        return fut


class ProcessBackend(Backend):
    """A pool of ``workers`` local processes."""

    name = "processes"

    def __init__(self, workers: int):
        self.workers = workers
        # forkserver: workers start from a clean process, not a fork of a parent
        # that already runs threads (tqdm, SQLite) — fork with threads can deadlock.
        methods = multiprocessing.get_all_start_methods()
        self._ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        self.pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=self._ctx)

    def restart(self) -> None:
        self.close(cancel=True)
        self.pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=self._ctx)

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future:
        return self.pool.submit(fn, *args)

    def close(self, *, cancel: bool = False) -> None:
        if cancel:
            # Interrupted: drop queued tasks and stop running ones now rather than
            # letting them finish (their results could not be stored anyway).
            procs = list(getattr(self.pool, "_processes", {}).values())
            self.pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:
                if p.is_alive():
                    p.terminate()
        else:
            self.pool.shutdown(wait=True)


class DaskBackend(Backend):
    """Tasks on an existing Dask distributed cluster (workers must be able to import edgeopt)."""

    name = "dask"

    def __init__(self, address: str):
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - dask is a dependency
            from edgeopt.errors import InputError

            raise InputError("--scheduler needs the 'distributed' package", field="scheduler") from None
        try:
            self.client = Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            from edgeopt.errors import InputError

            raise InputError(f"cannot reach the Dask scheduler {address!r} ({exc})", field="scheduler") from None
        self.workers = max(1, sum(self.client.nthreads().values()))

    def put(self, obj: Any) -> Any:
        # Scatter once per instance: tasks then carry a reference, not the arrays.
        return self.client.scatter(obj, hash=False)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        # pure=False: a re-submitted task must run again, not return a cached result.
        return self.client.submit(fn, *args, pure=False)

    def wait_any(self, futures: set[Any]) -> tuple[set[Any], set[Any]]:
        from distributed import wait

        done, pending = wait(list(futures), return_when="FIRST_COMPLETED")
        return set(done), set(pending)

    def close(self, *, cancel: bool = False) -> None:
        self.client.close()


def make_backend(workers: int, scheduler: str | None) -> Backend:
    """Dask when ``scheduler`` is given, else local processes (``workers`` > 1) or in-process."""
    if scheduler:
        return DaskBackend(scheduler)
    if workers <= 1:
        return SerialBackend()
    return ProcessBackend(workers)
