"""Where tasks run: in this process, in local worker processes, or on a Dask cluster.

All three offer ``put`` (ship a problem once), ``submit`` and ``wait_any``, so
the runner's loop is the same everywhere. Local scale-out uses the standard
library's ``ProcessPoolExecutor``: one process per core, no scheduler to start,
a worker that dies breaks the pool, which ``restart`` replaces; Dask is used only when a
cluster address is given (``--scheduler``), where it earns its keep. Local workers
die with the batch, however it ends: a thread in each worker waits for the batch
process to exit (a Linux pidfd, else polling) and, on Linux, the kernel also ends a
worker whose parent (the pool's forkserver) goes (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import multiprocessing
import os
import re
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from edgeopt.batch import worker

__all__ = [
    "Backend",
    "SerialBackend",
    "ProcessBackend",
    "DaskBackend",
    "make_backend",
    "check_scheduler",
]


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


_PR_SET_PDEATHSIG = 1


def die_with_batch(batch_pid: int) -> None:
    """Worker initializer: end this worker as soon as the batch process ``batch_pid`` ends.

    A worker is not the batch's child but the forkserver's, and the forkserver
    outlives a killed batch while workers hold its pipe, so the worker watches
    the batch itself; ``PR_SET_PDEATHSIG`` covers the forkserver going first.
    """
    worker.IN_POOL[0] = True  # a solve that overruns its limit by far ends this process
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - the watch thread still works
            pass
    threading.Thread(
        target=_watch, args=(batch_pid,), name="edgeopt-batch-watch", daemon=True
    ).start()


def _watch(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)  # readable once the process has ended (Linux >= 5.3)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        select.select([fd], [], [])
        os._exit(1)
    while _running(pid):  # pragma: no cover - platforms without pidfd
        time.sleep(0.5)
    os._exit(1)  # pragma: no cover


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed batch its shell has not reaped yet is a zombie: ended all the same
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


class ProcessBackend(Backend):
    """A pool of ``workers`` local processes."""

    name = "processes"

    def __init__(self, workers: int):
        self.workers = workers
        # forkserver: workers start from a clean process, not a fork of a parent
        # that already runs threads (tqdm, SQLite) — fork with threads can deadlock.
        methods = multiprocessing.get_all_start_methods()
        self._ctx = multiprocessing.get_context(
            "forkserver" if "forkserver" in methods else "spawn"
        )
        self.pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self._ctx,
            initializer=die_with_batch,
            initargs=(os.getpid(),),
        )

    def restart(self) -> None:
        self.close(cancel=True)
        self.pool = self._new_pool()

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

            raise InputError(
                "--scheduler needs the 'distributed' package", field="scheduler"
            ) from None
        try:
            self.client = Client(address, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            from edgeopt.errors import InputError

            raise InputError(
                f"cannot reach the Dask scheduler {address!r} ({exc})", field="scheduler"
            ) from None
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


#: A Dask scheduler address: ``[tcp|tls|ws|wss|ucx://]HOST:PORT`` (HOST a name, IPv4 or [IPv6]).
_ADDRESS = re.compile(
    r"(?:(?:tcp|tls|ws|wss|ucx)://)?(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})/?"
)


def check_scheduler(address: str) -> str:
    """``address`` if it reads as a Dask scheduler address, else one-line ``InputError`` (checked
    before the database is touched; whether the scheduler answers is known only on connecting)."""
    from edgeopt.errors import InputError
    from edgeopt.jsonio import printable

    m = _ADDRESS.fullmatch(address)
    if m is None or not 0 < int(m.group(1)) < 65536:
        raise InputError(
            f"--scheduler {printable(address)!r}: expected an address like tcp://HOST:PORT"
        )
    return address


def make_backend(workers: int, scheduler: str | None) -> Backend:
    """Dask when ``scheduler`` is given, else local processes (``workers`` > 1) or in-process."""
    if scheduler:
        return DaskBackend(scheduler)
    if workers <= 1:
        return SerialBackend()
    return ProcessBackend(workers)
