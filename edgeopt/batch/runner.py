"""The batch runner: every (instance file, solver) pair not yet in the store is solved,
re-checked by the evaluator in this process and committed as one row.

Instances are loaded (and compiled) here, once each, and shipped to the workers
as core problems, so workers need no access to the files; a file that cannot be
loaded, for whatever reason, becomes one error row per solver and the batch goes
on. Each file's tasks are claimed in the store before it is loaded, so batches
sharing a database split the work instead of repeating it.
"""

from __future__ import annotations

import glob
import hashlib
import os
import stat
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeopt import __version__
from edgeopt.batch.execute import Backend, make_backend
from edgeopt.batch.store import Store, settings_hash
from edgeopt.batch.worker import now_iso, one_line, solve_task
from edgeopt.core.instance import Instance, load_instance
from edgeopt.core.referee import referee
from edgeopt.core.result import PLAN_STATUSES, SolveResult
from edgeopt.core.size import DEFAULT_MAX_COLUMNS
from edgeopt.core.solution import solution_to_dict
from edgeopt.errors import EdgeoptError, InputError, SolverError
from edgeopt.jsonio import printable
from edgeopt.paths import same_file
from edgeopt.solvers.registry import check_solver_options, fingerprint, get_solver

__all__ = ["BatchSummary", "expand_paths", "solver_settings", "run_batch", "result_row"]


@dataclass
class BatchSummary:
    """What a batch did."""

    db: str
    files: int
    tasks: int
    skipped: int
    stored: int = 0
    errors: int = 0
    #: tasks another batch on the same database had claimed or stored meanwhile
    elsewhere: int = 0
    #: results not stored because another batch had stored that row first
    discarded: int = 0
    wall_s: float = 0.0
    backend: str = ""
    workers: int = 1
    error_messages: list[str] = field(default_factory=list)

    def line(self) -> str:
        where = f", {self.backend} × {self.workers}" if self.backend else ""
        other = f", {self.elsewhere} taken by another batch" if self.elsewhere else ""
        lost = (
            f", {self.discarded} discarded (stored first by another batch)"
            if self.discarded
            else ""
        )
        return (
            f"{printable(self.db)}: {self.stored} row(s) stored ({self.errors} error(s)), {self.skipped} already "
            f"done{other}{lost}, {self.files} file(s){where}, {self.wall_s:.1f} s"
        )


@dataclass
class _Task:
    path: str
    sha256: str
    solver: str
    settings: dict[str, Any]
    settings_hash: str


# ------------------------------------------------------------------ inputs
def expand_paths(patterns: Sequence[str]) -> list[Path]:
    """Files named by ``patterns``: files, folders (their ``*.json``) and globs, in order, without repeats."""
    out: list[Path] = []
    seen: set[str] = set()

    def add(p: Path) -> None:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            out.append(p)

    for pat in patterns:
        p = Path(pat)
        if p.is_dir():
            for f in sorted(p.glob("*.json")):
                if f.is_file() and not f.name.startswith("."):
                    add(f)
        elif p.exists():
            add(p)
        elif glob.has_magic(pat):
            hits = sorted(Path(h) for h in glob.glob(pat, recursive=True))
            hits = [h for h in hits if h.is_file()]
            if not hits:
                raise InputError("no file matches this pattern", source=pat)
            for h in hits:
                add(h)
        else:
            raise InputError("file not found", source=pat)
    return out


def solver_settings(
    solver: str,
    *,
    seed: int | None,
    time_limit_s: float | None,
    options: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The settings a batch asks ``solver`` for: seed, time limit, then options for all (``"*"``) and for it."""
    opts = options or {}
    return {"seed": seed, "time_limit_s": time_limit_s, **opts.get("*", {}), **opts.get(solver, {})}


def _file_sha256(path: Path) -> str:
    try:
        if stat.S_ISREG(
            os.stat(path).st_mode
        ):  # never open a FIFO or a device: it may block or never end
            return hashlib.sha256(path.read_bytes()).hexdigest()
    except (OSError, ValueError):
        pass
    # Unreadable: key its error row on the path, so a re-run skips it too.
    return hashlib.sha256(b"unreadable:" + os.fsencode(path)).hexdigest()


# ------------------------------------------------------------------ rows
def _instance_fields(inst: Instance | None, path: str, sha256: str) -> dict[str, Any]:
    if inst is None:
        return {
            "instance_path": printable(path),
            "instance_name": printable(Path(path).stem),
            "instance_sha256": sha256,
        }
    p = inst.problem
    return {
        "instance_path": printable(path),
        "instance_name": inst.name,
        "instance_sha256": inst.sha256,
        "kind": inst.kind,
        "n_items": p.n_items,
        "n_columns": p.n_columns,
        "n_bins": p.n_bins,
        "sense": p.sense,
    }


def _base_row(task: _Task, inst: Instance | None) -> dict[str, Any]:
    return {
        **_instance_fields(inst, task.path, task.sha256),
        "solver": task.solver,
        "settings": task.settings,
        "settings_hash": task.settings_hash,
        "edgeopt_version": __version__,
    }


def _error_row(task: _Task, inst: Instance | None, message: str, **extra: Any) -> dict[str, Any]:
    now = now_iso()
    row = {
        **_base_row(task, inst),
        "status": "error",
        "error": one_line(message),
        "started_at": now,
        "finished_at": now,
    }
    row.update(extra)
    return row


def result_row(task: _Task, inst: Instance, out: dict[str, Any]) -> dict[str, Any]:
    """The stored row for a worker's output, after the referee has judged it again here.

    The worker's result is refereed like any solve (:func:`edgeopt.core.referee.referee`):
    a reported objective the evaluator does not reproduce, a bound above the plan, or a
    plan with a plan status that breaks a constraint turns the row into an error row (the
    plan is kept in ``solution`` for inspection).
    """
    if out.get("error"):
        times = {k: out.get(k) for k in ("wall_s", "started_at", "finished_at")}
        return _error_row(task, inst, out["error"], **times)
    p = inst.problem
    sent = SolveResult.from_dict(out["result"])
    times = {
        "wall_s": sent.wall_s,
        "started_at": out["started_at"],
        "finished_at": out["finished_at"],
    }
    try:
        res = referee(p, task.solver, sent.as_outcome(), wall_s=sent.wall_s, settings=sent.settings)
    except SolverError as exc:  # kept for inspection when the plan has one entry per item
        whole = sent.assignment is None or sent.assignment.shape[0] == p.n_items
        kept = {"solution": solution_to_dict(p, sent, instance_sha256=inst.sha256)} if whole else {}
        return _error_row(task, inst, str(exc), **kept, **times)
    solution = solution_to_dict(p, res, instance_sha256=inst.sha256)
    if sent.status in PLAN_STATUSES and res.status == "error":  # a plan the evaluator refuses
        return _error_row(task, inst, res.message, solution=solution, **times)
    ev = res.evaluation
    util = None
    if ev is not None:
        util = {
            p.resource_ids[r]: {"load": float(ev.loads[r]), "capacity": float(p.capacity[r])}
            for r in range(p.n_resources)
            if p.balanced[r]
        }
    return {
        **_base_row(task, inst),
        **times,
        "status": res.status,
        "objective": None if ev is None else p.source_objective(ev.objective),
        "objective_internal": None if ev is None else ev.objective,
        "bound": None if res.bound is None else p.source_objective(res.bound),
        "bound_internal": res.bound,
        "terms": solution["terms"] or None,
        "utilisation": util,
        "solution": solution,
        # an error the solver reported itself keeps its message (never NULL)
        "error": one_line(res.message or "the solver reported an error without a message")
        if res.status == "error"
        else None,
    }


# ------------------------------------------------------------------ the run
def run_batch(
    paths: Sequence[str],
    solvers: Sequence[str],
    db: str | os.PathLike[str],
    *,
    time_limit_s: float | None = None,
    time_limits: dict[str, float] | None = None,
    seed: int | None = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    options: dict[str, dict[str, Any]] | None = None,
    retry_errors: bool = False,
    progress: bool = True,
    max_columns: int | None = DEFAULT_MAX_COLUMNS,
) -> BatchSummary:
    """Solve every file of ``paths`` with every solver into the SQLite file ``db``.

    :param paths: files, folders and glob patterns of scenario or core-problem files.
    :param solvers: registered solver names (``X+ls`` allowed).
    :param time_limit_s: per-solve time limit (None = the solver's own).
    :param time_limits: per-solver time limits that replace ``time_limit_s`` for those solvers.
    :param seed: seed given to every solver.
    :param workers: local worker processes (None = one per core; 1 = in this process).
    :param scheduler: address of a Dask distributed scheduler; overrides ``workers``.
    :param options: extra solver options, ``{"*": {...}, "milp": {...}}``.
    :param retry_errors: delete stored error rows first, so they run again.
    :param progress: show a tqdm progress bar on stderr.
    :param max_columns: refuse (as error rows) scenarios that could compile to more columns.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    if not solvers:
        raise InputError("no solver given", field="solvers")
    for s in solvers:
        get_solver(s)  # unknown names fail here, before anything runs
    for other in sorted(set(options or {}) - {"*", *solvers}):
        key = next(iter((options or {})[other]))
        raise InputError(
            f"--set {printable(other)}.{printable(key)}: {printable(other)!r} is not one of the "
            f"batch's --solvers ({', '.join(solvers)})"
        )
    files = expand_paths(paths)
    for f in files:
        if same_file(f, db):
            raise InputError(
                f"--db {printable(str(db))}: is also an input ({printable(str(f))}); refusing to "
                "overwrite it"
            )
    per_solver = {
        s: solver_settings(
            s, seed=seed, time_limit_s=(time_limits or {}).get(s, time_limit_s), options=options
        )
        for s in solvers
    }
    for s in solvers:  # an option a solver does not take, or out of range: refused, not error rows
        opts = options or {}
        check_solver_options(s, {**opts.get("*", {}), **opts.get(s, {})})
    for s, v in per_solver.items():  # e.g. drl's results depend on the weights, not only the path
        v.update(fingerprint(s, v))
    hashes = {s: settings_hash(v) for s, v in per_solver.items()}

    store = Store(db)
    try:
        if retry_errors:
            store.delete_errors()
        done = store.done_keys()
        plan: list[tuple[Path, list[_Task]]] = []
        n_all = 0
        for f in files:
            sha = _file_sha256(f)
            todo = []
            for s in solvers:
                task_key = (sha, s, hashes[s])
                n_all += 1
                if task_key not in done:
                    done.add(task_key)  # a solver named twice runs once
                    todo.append(_Task(str(f), sha, s, per_solver[s], hashes[s]))
            if todo:
                plan.append((f, todo))
        n_todo = sum(len(t) for _, t in plan)
        summary = BatchSummary(db=str(db), files=len(files), tasks=n_todo, skipped=n_all - n_todo)
        if n_todo == 0:
            summary.wall_s = time.perf_counter() - t0
            return summary
        if workers is None:
            workers = os.cpu_count() or 1
        backend = make_backend(min(workers, n_todo), scheduler)
        summary.backend, summary.workers = backend.name, backend.workers
        store.start_heartbeat()
        bar = tqdm(
            total=n_todo,
            unit="run",
            desc="batch",
            disable=not progress,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        try:
            _drive(backend, plan, store, bar, summary, max_columns)
        except BaseException:
            backend.close(cancel=True)
            raise
        finally:
            bar.close()
        backend.close()
    finally:
        store.close()
    summary.wall_s = time.perf_counter() - t0
    return summary


def _drive(
    backend: Backend,
    plan: list[tuple[Path, list[_Task]]],
    store: Store,
    bar: Any,
    summary: BatchSummary,
    max_columns: int | None = DEFAULT_MAX_COLUMNS,
) -> None:
    """Keep a few tasks per worker in flight; store each result the moment it arrives."""
    window = 2 * backend.workers
    loaded: dict[str, tuple[Instance, Any]] = {}
    remaining: dict[str, int] = {}
    retried: set[int] = set()

    def store_row(row: dict[str, Any]) -> None:
        if not store.add(row):
            summary.discarded += 1
            bar.update(1)
            return
        summary.stored += 1
        if row["status"] == "error":
            summary.errors += 1
            summary.error_messages.append(
                f"{row['instance_name']} / {row['solver']}: {row['error']}"
            )
        bar.set_postfix_str(
            f"{row['instance_name']} {row['solver']} {row['status']}", refresh=False
        )
        bar.update(1)

    def tasks() -> Iterator[_Task]:
        # Load lazily, one instance ahead of the workers, and forget it once its tasks are stored.
        for f, todo in plan:
            mine = store.claim([(t.sha256, t.solver, t.settings_hash) for t in todo])
            n_before = len(todo)
            todo = [t for t in todo if (t.sha256, t.solver, t.settings_hash) in mine]
            if len(todo) < n_before:
                summary.elsewhere += n_before - len(todo)
                bar.update(n_before - len(todo))
            if not todo:
                continue
            try:
                inst = load_instance(f, max_columns=max_columns)
            except Exception as exc:  # noqa: BLE001 - whatever breaks on one file must not stop the batch
                msg = (
                    str(exc)
                    if isinstance(exc, EdgeoptError)
                    else f"cannot load: {type(exc).__name__}: {exc}"
                )
                for t in todo:
                    store_row(_error_row(t, None, msg))
                continue
            loaded[str(f)] = (inst, backend.put(inst.problem))
            remaining[str(f)] = len(todo)
            yield from todo

    def submit(t: _Task) -> Any:
        _, handle = loaded[t.path]
        opts = {
            k: v
            for k, v in t.settings.items()
            if k not in ("seed", "time_limit_s", "checkpoint_sha256")
        }
        return backend.submit(
            solve_task, handle, t.solver, t.settings["seed"], t.settings["time_limit_s"], opts
        )

    source = tasks()
    inflight: dict[Any, _Task] = {}
    retry: list[_Task] = []
    exhausted = False
    while True:
        while len(inflight) < window and (retry or not exhausted):
            if retry:
                t = retry.pop()
            else:
                nxt = next(source, None)
                if nxt is None:
                    exhausted = True
                    break
                t = nxt
            inflight[submit(t)] = t
        if not inflight:
            break
        done, _ = backend.wait_any(set(inflight))
        broken = False
        for fut in done:
            t = inflight.pop(fut)
            try:
                out = fut.result()
            except Exception as exc:  # noqa: BLE001 - the worker died or the cluster failed
                from concurrent.futures.process import BrokenProcessPool

                if isinstance(exc, BrokenProcessPool) and id(t) not in retried:
                    # A crashed worker fails every task in the pool; run each once more.
                    retried.add(id(t))
                    retry.append(t)
                    broken = True
                    continue
                out = {"error": f"worker failed: {type(exc).__name__}: {exc}"}
            inst, _ = loaded[t.path]
            try:
                row = result_row(t, inst, out)
            except Exception as exc:  # noqa: BLE001 - a result that cannot be refereed is that task's error row
                row = _error_row(t, inst, f"cannot check the result: {type(exc).__name__}: {exc}")
            store_row(row)
            remaining[t.path] -= 1
            if remaining[t.path] == 0:
                del loaded[t.path], remaining[t.path]
        if broken:
            retry.extend(inflight.values())
            inflight.clear()
            backend.restart()
