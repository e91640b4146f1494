"""Nothing lost, nothing lied about (issue 12): bad input, faults and misuse through the
``edgeopt`` entry point. Every refusal is one line on stderr and exit 2; outputs never
destroy inputs and land whole or not at all; a batch survives any one bad file, shares
its database with another batch, and leaves no worker behind.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from edgeopt.batch.store import read_rows
from edgeopt.cli import main
from edgeopt.core.size import DEFAULT_MAX_COLUMNS
from tests.helpers import FIXTURE_CATALOG, TINY_DEVICES, make_instances, refused, toy
from tests.helpers import run_cli as run

ROOT = Path(__file__).resolve().parents[1]
CAT = str(FIXTURE_CATALOG)


@pytest.fixture
def devices(tmp_path: Path) -> Path:
    p = tmp_path / "devices.json"
    p.write_text(json.dumps(TINY_DEVICES))
    return p


@pytest.fixture
def scenario(tmp_path: Path, fixture_catalog: dict) -> Path:
    p = tmp_path / "toy.json"
    p.write_text(json.dumps(toy(fixture_catalog)))
    return p


def gen(out: Path, devices: Path, *extra: str) -> list[str]:
    return [
        "generate",
        "--out",
        str(out),
        "--catalog",
        CAT,
        "--devices",
        str(devices),
        "--device-mix",
        "small:2,large:1",
        "--controllers",
        "4",
        "--requests",
        "8",
        *extra,
    ]


def leftovers(folder: Path) -> list[str]:
    """Hidden temporary files or folders an atomic write would leave behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ================================================================ outputs never destroy inputs
def test_solve_refuses_to_write_its_solution_over_the_instance(capsys, scenario):
    before = scenario.read_bytes()
    refused(capsys, "solve", scenario, "--out", scenario, says="--out")
    link = scenario.with_name("link.json")
    link.symlink_to(scenario.name)
    refused(capsys, "solve", scenario, "--out", link, says="is also an input")
    assert scenario.read_bytes() == before


def test_generate_refuses_to_write_over_its_catalog_or_devices(capsys, tmp_path, devices):
    cat = tmp_path / "catalog.json"
    shutil.copy(CAT, cat)
    before = cat.read_bytes(), devices.read_bytes()
    for target in (cat, devices):
        argv = gen(target, devices)
        argv[argv.index("--catalog") + 1] = str(cat)
        refused(capsys, *argv, says="is also an input")
    assert (cat.read_bytes(), devices.read_bytes()) == before


def test_compare_refuses_to_write_its_csv_over_the_database(capsys, tmp_path):
    make_instances(tmp_path / "in", 1)
    db = tmp_path / "r.sqlite"
    assert (
        run(
            capsys,
            "batch",
            tmp_path / "in",
            "--solvers",
            "greedy",
            "--db",
            db,
            "--workers",
            "1",
            "--no-progress",
        )[0]
        == 0
    )
    refused(capsys, "compare", "--db", db, "--csv", db, says="--csv")
    refused(capsys, "report", "--db", db, "--out", db, says="--out")
    named_like_the_report = tmp_path / "rep" / "report.md"
    named_like_the_report.parent.mkdir()
    shutil.copy(db, named_like_the_report)
    refused(
        capsys,
        "report",
        "--db",
        named_like_the_report,
        "--out",
        tmp_path / "rep",
        says="would replace the input",
    )
    assert len(read_rows(db)) == len(read_rows(named_like_the_report)) == 1  # still databases


def test_batch_refuses_a_database_that_is_one_of_its_instance_files(capsys, tmp_path):
    (inst,) = make_instances(tmp_path / "in", 1)
    before = inst.read_bytes()
    refused(
        capsys,
        "batch",
        inst,
        "--db",
        inst,
        "--solvers",
        "greedy",
        "--workers",
        "1",
        "--no-progress",
        says="is also an input",
    )
    assert inst.read_bytes() == before


@pytest.mark.parametrize("where", ["folder", "under-a-file", "unwritable", "device"])
def test_an_unusable_output_path_is_one_line_naming_the_option(capsys, tmp_path, scenario, where):
    out = {
        "folder": tmp_path,
        "under-a-file": scenario / "sol.json",
        "unwritable": Path("/proc/edgeopt-test/sol.json"),
        "device": Path(os.devnull),
    }[where]
    refused(capsys, "solve", scenario, "--out", out, says="--out")
    assert Path(os.devnull).exists() and not Path(os.devnull).is_file()


def test_a_missing_output_folder_is_created(capsys, tmp_path, scenario):
    out = tmp_path / "new" / "sub" / "sol.json"
    assert run(capsys, "solve", scenario, "--out", out)[0] == 0
    assert json.loads(out.read_text())["format"] == "edgeopt-solution/1"


#: An OR-Library GAP file of three problems (2 agents, 3 jobs: costs, resource use, capacities).
GAP_TEXT = "3\n" + "2 3\n1 2 3\n4 5 6\n1 1 1\n1 1 1\n3 3\n" * 3


def test_import_gap_writes_every_file_or_none(capsys, tmp_path, monkeypatch):
    src = tmp_path / "gap9.txt"
    src.write_text(GAP_TEXT)
    out = tmp_path / "out"
    import edgeopt.jsonio as jsonio

    real_fsync, calls = os.fsync, []

    def failing_fsync(fd: int) -> None:  # the disk fills up on the third file
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(jsonio.os, "fsync", failing_fsync)
    refused(capsys, "import-gap", src, "--out", out, says="nothing was written")
    assert not out.exists() and leftovers(tmp_path) == []
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    calls.clear()
    refused(capsys, "import-gap", src, "--out", out, says="No space left")
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"] and leftovers(tmp_path) == []
    monkeypatch.undo()
    assert run(capsys, "import-gap", src, "--out", out)[0] == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "gap9-1.json",
        "gap9-2.json",
        "gap9-3.json",
        "keep.txt",
    ]


def test_report_for_an_unknown_instance_leaves_nothing(capsys, tmp_path):
    make_instances(tmp_path / "in", 1)
    db = tmp_path / "r.sqlite"
    run(
        capsys,
        "batch",
        tmp_path / "in",
        "--solvers",
        "greedy",
        "--db",
        db,
        "--workers",
        "1",
        "--no-progress",
    )
    out = tmp_path / "rep"
    refused(capsys, "report", "--db", db, "--out", out, "--instance", "nosuch", says="nosuch")
    assert not out.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", "", "x\\y"])
def test_train_keeps_the_checkpoint_name_inside_out_dir(capsys, tmp_path, name):
    out = tmp_path / "a" / "b"
    refused(
        capsys,
        "train",
        "--name",
        name,
        "--out-dir",
        out,
        "--curve",
        "",
        "--no-progress",
        says="--name",
    )
    assert not (tmp_path / "x").exists() and not out.exists()


# ================================================================ batch
def test_any_failing_file_is_an_error_row_and_the_batch_finishes(
    capsys, tmp_path, fixture_catalog, monkeypatch
):
    folder = tmp_path / "in"
    make_instances(folder, 1)
    good = toy(fixture_catalog)
    graph_data = copy.deepcopy(good)
    graph_data["name"] = "graph-data"
    graph_data["topology"]["graph"] = {"incoming_graph_data": [["x", "y"]], "note": "kept as data"}
    (folder / "graph-data.json").write_text(json.dumps(graph_data))
    surrogate = json.dumps(good).replace('"toy"', '"bad\\ud800name"', 1)
    (folder / "surrogate.json").write_text(surrogate)
    odd_name = os.fsdecode(b"caf\xe9-not-utf8.json")  # a file name that is not UTF-8
    weird = copy.deepcopy(good)
    weird["name"] = "odd-file-name"
    (folder / odd_name).write_text(json.dumps(weird))
    (folder / "crash.json").write_text(json.dumps({**good, "name": "crash"}))
    import edgeopt.batch.runner as runner

    real_load = runner.load_instance

    def load(path, **kw):  # a loader bug on one file (not an EdgeoptError) must not stop the batch
        if Path(path).name == "crash.json":
            raise RuntimeError("boom")
        return real_load(path, **kw)

    monkeypatch.setattr(runner, "load_instance", load)
    db = tmp_path / "r.sqlite"
    argv = ["batch", folder, "--solvers", "greedy", "--db", db, "--workers", "1", "--no-progress"]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    rows = {r["instance_name"]: r for r in read_rows(db)}
    assert len(rows) == 5
    assert (
        rows["graph-data"]["status"] == "feasible" and rows["graph-data"]["n_bins"] == 3
    )  # no x, y nodes
    assert rows["odd-file-name"]["status"] == "feasible"
    assert "\\udce9" in rows["odd-file-name"]["instance_path"]
    assert rows["surrogate"]["status"] == "error" and "surrogate" in rows["surrogate"]["error"]
    assert "field 'name'" in rows["surrogate"]["error"]
    assert rows["crash"]["status"] == "error" and "RuntimeError: boom" in rows["crash"]["error"]
    code, out, _ = run(
        capsys, *argv
    )  # the rerun skips every row, errors included: the batch can finish
    assert code == 0 and "0 row(s) stored" in out and "5 already done" in out


def test_an_error_the_solver_reports_keeps_its_message(capsys, tmp_path, monkeypatch):
    make_instances(tmp_path / "in", 1)
    import edgeopt.batch.runner as runner
    from edgeopt.batch.worker import now_iso
    from edgeopt.core.result import SolveResult

    def solver_gives_up(problem, solver, seed, time_limit_s, options):
        gave_up = SolveResult(
            solver, "error", None, None, wall_s=0.01, message="HiGHS: model status Solve error"
        )
        return {
            "error": None,
            "result": gave_up.to_dict(),
            "started_at": now_iso(),
            "finished_at": now_iso(),
        }

    monkeypatch.setattr(runner, "solve_task", solver_gives_up)
    db = tmp_path / "r.sqlite"
    code, out, _ = run(
        capsys,
        "batch",
        tmp_path / "in",
        "--solvers",
        "greedy",
        "--db",
        db,
        "--workers",
        "1",
        "--no-progress",
    )
    (row,) = read_rows(db)
    assert (
        code == 0 and row["status"] == "error" and row["error"] == "HiGHS: model status Solve error"
    )
    assert "None" not in out


@pytest.fixture
def results_db(tmp_path: Path, capsys) -> Path:
    make_instances(tmp_path / "in", 3)
    db = tmp_path / "r.sqlite"
    code = main(
        [
            "batch",
            str(tmp_path / "in"),
            "--solvers",
            "greedy,random",
            "--db",
            str(db),
            "--workers",
            "1",
            "--no-progress",
        ]
    )
    capsys.readouterr()
    assert code == 0 and not Path(f"{db}-wal").exists()  # checkpointed: every page is in the file
    return db


def _damage(db: Path, how: str) -> None:
    if how == "settings-json":
        with sqlite3.connect(db) as con:
            con.execute("UPDATE results SET settings = '{\"seed\": 0,' WHERE id = 2")
    elif how == "text-in-a-number":
        with sqlite3.connect(db) as con:
            con.execute("UPDATE results SET wall_s = 'fast' WHERE id = 1")
    elif how == "wrong-schema":
        db.unlink()
        with sqlite3.connect(db) as con:
            con.execute("CREATE TABLE results (id INTEGER PRIMARY KEY, name TEXT)")
    elif how == "no-table":
        db.unlink()
        with sqlite3.connect(db) as con:
            con.execute("CREATE TABLE other (x)")
    elif how == "damaged-page":
        raw = bytearray(db.read_bytes())
        page = int.from_bytes(raw[16:18], "big")
        assert len(raw) >= 3 * page
        raw[page : 3 * page] = b"\xa5" * (2 * page)  # pages 2 and 3: b-tree pages of the table
        db.write_bytes(bytes(raw))
    elif how == "not-sqlite":
        db.write_bytes(b"this is not a database file at all" * 200)


@pytest.mark.parametrize(
    "how",
    ["settings-json", "text-in-a-number", "wrong-schema", "no-table", "damaged-page", "not-sqlite"],
)
def test_a_damaged_database_is_one_clean_line_in_compare_and_report(
    capsys, tmp_path, results_db, how
):
    _damage(results_db, how)
    refused(capsys, "compare", "--db", results_db, says=str(results_db))
    refused(capsys, "report", "--db", results_db, "--out", tmp_path / "rep", says=str(results_db))
    assert not (tmp_path / "rep").exists()


def test_two_batches_on_one_database_never_redo_or_replace_each_others_rows(tmp_path):
    make_instances(tmp_path / "in", 6)
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
        "1",
        "--no-progress",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def start() -> subprocess.Popen:
        return subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    first, second = start(), start()  # at once: both plan the same 18 tasks
    outs = [p.communicate(timeout=120) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outs
    stored = [int(re.search(r"(\d+) row\(s\) stored", out).group(1)) for out, _ in outs]
    assert sum(stored) == 18, outs  # every task solved once, by one of them
    assert all("discarded" not in out for out, _ in outs), outs
    rows = read_rows(db)
    assert len(rows) == 18 and len({(r["instance_sha256"], r["solver"]) for r in rows}) == 18
    finished = {(r["instance_sha256"], r["solver"]): r["finished_at"] for r in rows}
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0
    # a third run finds everything done and replaces nothing
    third = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert (
        third.returncode == 0
        and "0 row(s) stored" in third.stdout
        and "18 already done" in third.stdout
    )
    assert {
        (r["instance_sha256"], r["solver"]): r["finished_at"] for r in read_rows(db)
    } == finished


def test_a_dead_batchs_claims_are_taken_over(capsys, tmp_path):
    import hashlib

    from edgeopt.batch.runner import solver_settings
    from edgeopt.batch.store import Store, settings_hash

    (inst,) = make_instances(tmp_path / "in", 1)
    db = tmp_path / "r.sqlite"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    key = (
        hashlib.sha256(inst.read_bytes()).hexdigest(),
        "greedy",
        settings_hash(solver_settings("greedy", seed=0, time_limit_s=None)),
    )
    with Store(db) as store:  # a claim left behind by a batch whose process has ended
        store.con.execute(
            "INSERT INTO claims VALUES (?, ?, ?, 'gone', ?, ?, '1', ?)",
            (*key, store.host, int(dead.stdout), time.time()),
        )
        store.con.commit()
    code, out, _ = run(
        capsys, "batch", inst, "--solvers", "greedy", "--db", db, "--workers", "1", "--no-progress"
    )
    assert code == 0 and "1 row(s) stored" in out


# ================================================================ inputs
def _unblock_after(fifo: Path, seconds: float) -> threading.Timer:
    """If a reader blocks on ``fifo``, open its write end after ``seconds`` so the test can fail, not hang."""

    def release() -> None:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass

    t = threading.Timer(seconds, release)
    t.start()
    return t


@pytest.mark.parametrize("command", ["validate", "solve"])
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder"])
def test_non_regular_files_are_refused_at_once(capsys, tmp_path, command, kind):
    path = {"fifo": tmp_path / "pipe.json", "dev-zero": Path("/dev/zero"), "folder": tmp_path}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    timer = _unblock_after(path, 10.0) if kind == "fifo" else None
    t0 = time.monotonic()
    try:
        refused(capsys, command, path, says=str(path))
    finally:
        if timer is not None:
            timer.cancel()
    assert time.monotonic() - t0 < 5.0


def test_batch_makes_a_fifo_an_error_row_without_blocking(capsys, tmp_path):
    make_instances(tmp_path / "in", 1)
    fifo = tmp_path / "in" / "pipe.json"
    os.mkfifo(fifo)
    timer = _unblock_after(fifo, 10.0)
    db = tmp_path / "r.sqlite"
    try:
        code, out, _ = run(
            capsys,
            "batch",
            tmp_path / "in" / "tiny-1.json",
            fifo,
            "--solvers",
            "greedy",
            "--db",
            db,
            "--workers",
            "1",
            "--no-progress",
        )
    finally:
        timer.cancel()
    rows = {r["instance_name"]: r for r in read_rows(db)}
    assert code == 0 and rows["pipe"]["status"] == "error" and "FIFO" in rows["pipe"]["error"]
    assert rows["gen-c4-r8-s1"]["status"] == "feasible"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("name",), "x\ud800y", "field 'name'"),
        (("requests", 1, "id"), "\udcff", "field 'requests[1].id'"),
        (("topology", "nodes", 3, "id"), "c\ud83d", "field 'topology.nodes[3].id'"),
        (("topology", "graph", "note"), "\udfff", "field 'topology.graph.note'"),
    ],
)
def test_a_lone_surrogate_is_refused_at_load_naming_the_field(
    capsys, tmp_path, fixture_catalog, path, value, field
):
    d = toy(fixture_catalog)
    node = d
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    f = tmp_path / "s.json"
    f.write_text(json.dumps(d))  # ensure_ascii: the surrogate is written as a \\uXXXX escape
    refused(capsys, "validate", f, says=field)


def test_graph_attributes_are_data_not_constructor_arguments(capsys, tmp_path, fixture_catalog):
    d = toy(fixture_catalog)
    d["topology"]["graph"] = {"incoming_graph_data": [["p", "q"], ["q", "r"]], "name": "lab"}
    f = tmp_path / "s.json"
    f.write_text(json.dumps(d))
    code, out, err = run(capsys, "validate", f, "-q")
    assert code == 0, err
    assert "3 bins" in out  # c0, c1, cloud: no nodes p, q, r
    from edgeopt.scenario.model import load_scenario

    g = load_scenario(f).graph
    assert set(g.nodes) == {"cloud", "upf", "g0", "c0", "c1"} and g.graph["name"] == "lab"


NUMERIC = [
    ("solve", "--time-limit", "nan"),
    ("solve", "--time-limit", "-1"),
    ("solve", "--time-limit", "inf"),
    ("solve", "--time-limit", "0"),
    ("solve", "--mip-gap", "nan"),
    ("solve", "--mip-gap", "-1"),
    ("solve", "--mip-gap", "2"),
    ("solve", "--threads", "-4"),
    ("solve", "--threads", "0"),
    ("solve", "--seed", "-1"),
    ("solve", "--samples", "0"),
    ("solve", "--max-columns", "0"),
    ("validate", "--max-columns", "-5"),
    ("generate", "--window-s", "0"),
    ("generate", "--window-s", "-5"),
    ("generate", "--window-s", "nan"),
    ("generate", "--capacity-scale", "1e-300"),
    ("generate", "--capacity-scale", "1e308"),
    ("generate", "--capacity-scale", "nan"),
    ("generate", "--load-factor", "1e308"),
    ("generate", "--load-factor", "0"),
    ("generate", "--load-factor", "-inf"),
    ("generate", "--controllers", "0"),
    ("generate", "--gnbs", "0"),
    ("generate", "--requests", "0"),
    ("generate", "--seed", "-1"),
    ("batch", "--time-limit", "nan"),
    ("batch", "--workers", "0"),
    ("batch", "--seed", "-2"),
    ("batch", "--max-columns", "0"),
    ("demo", "--time-limit", "-1"),
    ("train", "--hidden", "0"),
    ("train", "--hidden", "200000"),
    ("train", "--rl-instances", "0"),
    ("train", "--learning-rate", "nan"),
    ("train", "--rollouts", "1"),
    ("train", "--milp-time-limit", "-1"),
]


@pytest.mark.parametrize(("command", "option", "value"), NUMERIC)
def test_every_numeric_option_is_checked_finite_and_in_range(
    capsys, tmp_path, scenario, devices, command, option, value
):
    argv = {
        "solve": ["solve", scenario, "--out", tmp_path / "sol.json"],
        "validate": ["validate", scenario],
        "generate": gen(tmp_path / "gen.json", devices),
        "batch": ["batch", scenario, "--db", tmp_path / "r.sqlite", "--no-progress"],
        "demo": ["demo"],
        "train": ["train", "--out-dir", tmp_path / "ck", "--curve", "", "--no-progress"],
    }[command]
    line = refused(capsys, *argv, f"{option}={value}", says=option)
    assert "must be" in line
    assert not any(p.name in ("sol.json", "gen.json", "r.sqlite", "ck") for p in tmp_path.iterdir())


@pytest.mark.parametrize(
    "knobs",
    [
        ["--capacity-scale", "1e-6"],
        ["--capacity-scale", "1e6"],
        ["--window-s", "1e-9"],
        ["--window-s", "1e9"],
        ["--load-factor", "1e-9"],
        ["--load-factor", "100"],
        ["--no-cloud", "--capacity-scale", "0.001"],
    ],
)
def test_generate_never_writes_a_file_its_reader_rejects(capsys, tmp_path, devices, knobs):
    out = tmp_path / "g.json"
    code, _, err = run(capsys, *gen(out, devices, *knobs))
    if code == 0:
        code, _, err = run(capsys, "validate", out, "-q")
        assert code == 0, err
    else:
        assert code == 2 and len(err.strip().splitlines()) == 1 and not out.exists(), err


def _checkpoint(tmp_path: Path, **agent) -> Path:
    from edgeopt.policy.checkpoint import DEFAULT_CHECKPOINT

    d = tmp_path / "ck"
    d.mkdir()
    cfg = json.loads((DEFAULT_CHECKPOINT / "config.json").read_text())
    cfg["agent"].update(agent)
    (d / "config.json").write_text(json.dumps(cfg))
    shutil.copy(DEFAULT_CHECKPOINT / "policy.npz", d / "policy.npz")
    return d


@pytest.mark.parametrize("hidden", [200000, True, "64", 0, 1.5, None])
def test_checkpoint_configuration_values_are_bounded(capsys, tmp_path, scenario, hidden):
    ck = _checkpoint(tmp_path, hidden=hidden)
    refused(
        capsys,
        "solve",
        scenario,
        "--solver",
        "drl",
        "--set",
        f"checkpoint={ck}",
        says="agent.hidden",
    )


def test_a_checkpoint_error_is_exactly_one_line_on_stderr_no_tensorflow_noise(tmp_path, scenario):
    ck = _checkpoint(tmp_path)
    (ck / "policy.npz").write_bytes(b"not an npz file")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "EDGEOPT_TF"))}
    env["PYTHONPATH"] = str(ROOT)
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgeopt.cli",
            "solve",
            str(scenario),
            "--solver",
            "drl",
            "--set",
            f"checkpoint={ck}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2
    assert p.stderr.splitlines() == [p.stderr.strip()] and "policy.npz" in p.stderr, p.stderr


def test_a_very_large_scenario_is_refused_before_compiling(capsys, tmp_path):
    big = (
        tmp_path / "big.json"
    )  # 1 000 controllers × 2 000 requests on the shipped measured catalog
    assert (
        run(capsys, "generate", "--controllers", "1000", "--requests", "2000", "--out", big)[0] == 0
    )
    t0 = time.perf_counter()
    line = refused(capsys, "solve", big, says="--max-columns")
    assert time.perf_counter() - t0 < 10.0
    n_configs = {
        f: len(v["configs"]) for f, v in json.loads(big.read_text())["catalog"]["families"].items()
    }
    requests = json.loads(big.read_text())["requests"]
    expected = sum(n_configs[r["family"]] * 1000 + 1 for r in requests)
    assert f"{expected:,}" in line and f"{DEFAULT_MAX_COLUMNS:,}" in line
    refused(capsys, "validate", big, says="--max-columns")


def test_max_columns_is_an_option_of_solve_validate_and_batch(capsys, tmp_path, scenario):
    refused(capsys, "solve", scenario, "--max-columns", "5", says="exceed --max-columns 5")
    refused(capsys, "validate", scenario, "--max-columns", "5", says="exceed --max-columns 5")
    assert run(capsys, "validate", scenario, "--max-columns", "1000")[0] == 0
    db = tmp_path / "r.sqlite"
    code, out, _ = run(
        capsys,
        "batch",
        scenario,
        "--solvers",
        "greedy",
        "--db",
        db,
        "--max-columns",
        "5",
        "--workers",
        "1",
        "--no-progress",
    )
    (row,) = read_rows(db)
    assert code == 0 and row["status"] == "error" and "--max-columns 5" in row["error"]


def test_train_refuses_a_bad_init_checkpoint_before_any_work(capsys, tmp_path):
    out = tmp_path / "ck"
    refused(
        capsys,
        "train",
        "--init",
        tmp_path / "nosuch",
        "--out-dir",
        out,
        "--curve",
        "",
        "--no-progress",
        says="nosuch",
    )
    assert not out.exists()
