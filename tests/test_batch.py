"""The batch runner: one committed row per (instance, solver, settings), resumable,
robust to bad files and killed processes, and the same on a Dask cluster."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgeopt.batch.runner import _Task, expand_paths, result_row, run_batch
from edgeopt.batch.store import read_rows, settings_hash
from edgeopt.batch.worker import solve_task
from edgeopt.core.instance import load_instance
from edgeopt.errors import InputError
from edgeopt.solvers.registry import parse_options
from tests.helpers import make_instances

ROOT = Path(__file__).resolve().parents[1]


def outcome(db: Path) -> dict[tuple[str, str], tuple[str, float | None]]:
    """(instance name, solver) → (status, objective rounded), timings ignored."""
    out = {}
    for r in read_rows(db):
        key = (r["instance_name"], r["solver"])
        assert key not in out, f"two rows for {key}"
        z = r["objective"]
        out[key] = (r["status"], None if z is None else round(z, 9))
    return out


# ---------------------------------------------------------------- inputs
def test_paths_expand_files_folders_and_globs_without_repeats(tmp_path):
    files = make_instances(tmp_path / "a", 2)
    got = expand_paths([str(tmp_path / "a"), str(files[0]), str(tmp_path / "a" / "tiny-*.json")])
    assert got == files
    with pytest.raises(Exception, match="no file matches"):
        expand_paths([str(tmp_path / "nothing-*.json")])


def test_options_split_by_solver_and_change_the_settings_hash():
    assert parse_options(["milp.mip_gap=1e-4", "threads=1", "drl.policy=best"]) == {
        "milp": {"mip_gap": 1e-4},
        "*": {"threads": 1},
        "drl": {"policy": "best"},
    }
    assert settings_hash({"a": 1, "b": 2}) == settings_hash({"b": 2, "a": 1})
    assert settings_hash({"a": 1}) != settings_hash({"a": 2})


# ---------------------------------------------------------------- rows
def test_bad_file_is_an_error_row_and_the_others_complete(tmp_path):
    make_instances(tmp_path / "in", 2, bad=True)
    db = tmp_path / "r.sqlite"
    s = run_batch([str(tmp_path / "in")], ["greedy", "random"], db, workers=1, progress=False)
    assert (s.stored, s.errors) == (6, 2)
    rows = read_rows(db, with_solution=True)
    bad = [r for r in rows if r["instance_path"].endswith("broken.json")]
    assert {r["solver"] for r in bad} == {"greedy", "random"}
    assert all(
        r["status"] == "error" and "malformed JSON" in r["error"] and "\n" not in r["error"]
        for r in bad
    )
    good = [r for r in rows if r not in bad]
    assert all(r["status"] == "feasible" and r["objective"] > 0 for r in good)
    for r in good:
        assert (
            r["kind"] == "scenario" and r["n_items"] == 8 and r["n_bins"] == 5
        )  # 4 controllers + cloud
        assert (
            r["solution"]["format"] == "edgeopt-solution/1"
            and r["solution"]["objective"] == r["objective"]
        )
        assert sum(r["terms"].values()) == pytest.approx(r["objective"])
        assert max(u["load"] for u in r["utilisation"].values()) == pytest.approx(
            r["terms"]["balance"]
        )
    # the same command again skips everything, errors included
    again = run_batch([str(tmp_path / "in")], ["greedy", "random"], db, workers=1, progress=False)
    assert (again.stored, again.skipped) == (0, 6)
    # --retry-errors runs the error rows again (still errors: the file is still bad)
    retry = run_batch(
        [str(tmp_path / "in")],
        ["greedy", "random"],
        db,
        workers=1,
        retry_errors=True,
        progress=False,
    )
    assert (retry.stored, retry.errors) == (2, 2)


def test_parent_rejects_an_objective_the_evaluator_does_not_reproduce(tmp_path):
    (path,) = make_instances(tmp_path, 1)
    inst = load_instance(path)
    settings = {"seed": 0, "time_limit_s": None}
    task = _Task(str(path), inst.sha256, "greedy", settings, settings_hash(settings))
    out = solve_task(inst.problem, "greedy", 0, None, {})
    assert result_row(task, inst, out)["status"] == "feasible"
    out["result"]["objective"] *= 1.01
    row = result_row(task, inst, out)
    assert (
        row["status"] == "error"
        and "evaluator finds" in row["error"]
        and row.get("objective") is None
    )


def test_unknown_solver_option_is_refused_before_any_row(tmp_path):
    # issue 22: an option no solver of the batch takes is one line at once, not an error row per task
    make_instances(tmp_path / "in", 1)
    db = tmp_path / "r.sqlite"
    with pytest.raises(InputError, match="bogus"):
        run_batch(
            [str(tmp_path / "in")],
            ["cloud-only", "milp"],
            db,
            workers=1,
            options={"milp": {"bogus": 1}},
            progress=False,
        )
    assert not db.exists()


# ---------------------------------------------------------------- crash safety
def _descendants(pid: int) -> list[int]:
    """Pids of every process below ``pid``: the worker pool, its forkserver and resource tracker."""
    try:
        import psutil
    except ImportError:
        parent_of = {}
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    parent_of[int(d.name)] = int(
                        (d / "stat").read_bytes().rsplit(b")", 1)[1].split()[1]
                    )
                except (OSError, IndexError, ValueError):
                    pass
        out, todo = [], [pid]
        while todo:
            kids = [c for c, pp in parent_of.items() if pp == todo.pop()]
            out += kids
            todo += kids
        return out
    return [c.pid for c in psutil.Process(pid).children(recursive=True)]


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (a dead child nobody reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_batch_leaves_no_worker_loses_no_committed_row_and_a_rerun_completes_it(
    tmp_path, sig
):
    make_instances(tmp_path / "in", 5)
    db = tmp_path / "r.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "edgeopt.cli",
        "batch",
        str(tmp_path / "in"),
        "--solvers",
        "greedy,milp,random",
        "--db",
        str(db),
        "--workers",
        "2",
        "--no-progress",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    seen = 0
    children: list[int] = []
    survivors: list[int] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                try:
                    with sqlite3.connect(db) as con:
                        seen = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
                except sqlite3.OperationalError:  # table not created yet
                    seen = 0
                if seen >= 1:
                    break
            time.sleep(0.02)
        children = _descendants(proc.pid)
        os.kill(proc.pid, sig)  # the parent only: its workers must follow it by themselves
        proc.wait(timeout=30)
        gone = time.monotonic() + 10
        survivors = [c for c in children if _running(c)]
        while survivors and time.monotonic() < gone:
            time.sleep(0.05)
            survivors = [c for c in survivors if _running(c)]
    finally:
        try:
            os.killpg(
                proc.pid, signal.SIGKILL
            )  # whatever is left, so a failure does not leak processes
        except ProcessLookupError:
            pass
        proc.wait()
    assert len(children) >= 2, "the batch must have started its worker processes"
    assert survivors == [], f"processes outlived the batch killed by {sig.name}"
    assert 1 <= seen < 15, "the batch must be killed mid-run"
    before = {(r["instance_name"], r["solver"]): r["finished_at"] for r in read_rows(db)}
    assert len(before) >= seen
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    s = run_batch(
        [str(tmp_path / "in")], ["greedy", "milp", "random"], db, workers=1, progress=False
    )
    assert s.skipped == len(before) and s.stored == 15 - len(before)
    after = read_rows(db)
    assert len(after) == 15 and len({(r["instance_sha256"], r["solver"]) for r in after}) == 15
    assert all(r["status"] in ("optimal", "feasible") for r in after)
    for r in after:  # rows committed before the kill are untouched
        if (r["instance_name"], r["solver"]) in before:
            assert r["finished_at"] == before[(r["instance_name"], r["solver"])]


# ---------------------------------------------------------------- Dask
def test_dask_local_cluster_gives_the_serial_rows(tmp_path):
    distributed = pytest.importorskip("distributed")
    make_instances(tmp_path / "in", 2, bad=True)
    solvers = ["greedy", "random", "no-downsizing"]  # fast: the cluster start-up dominates
    serial, dask_db = tmp_path / "serial.sqlite", tmp_path / "dask.sqlite"
    run_batch([str(tmp_path / "in")], solvers, serial, workers=1, progress=False)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cl:
        s = run_batch(
            [str(tmp_path / "in")], solvers, dask_db, scheduler=cl.scheduler_address, progress=False
        )
    assert s.backend == "dask" and s.workers == 2
    a, b = outcome(serial), outcome(dask_db)
    assert len(a) == 9 and a == b


def test_a_worker_whose_solve_overruns_its_limit_by_far_ends(tmp_path):
    """The batch's watchdog: in a pool worker, a solve still running long past its time limit
    ends the process (exit 70, one line on stderr), so one stuck solver cannot stall a batch;
    outside a pool (``--workers 1``) nothing is ever ended."""
    import subprocess
    import sys

    code = """
import time
from edgeopt.batch import worker
worker.OVERRUN_GRACE_S, worker.OVERRUN_SHARE = 0.2, 0.0
assert worker._watchdog(0.1, "test") is None      # not a pool worker: no watchdog
worker.IN_POOL[0] = True
worker._watchdog(0.1, "slow on p")
time.sleep(5)
print("not ended")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 70, proc.stdout + proc.stderr
    assert "slow on p still running" in proc.stderr and "time limit 0.1 s" in proc.stderr
    assert "not ended" not in proc.stdout
