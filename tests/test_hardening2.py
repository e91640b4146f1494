"""Hardening, round two (issue 22): nothing a user owns is overwritten by ``train``, results
files are checked for what they claim, benchmarks that ran nothing fail, and limits (threads,
samples, workers, sizes) are checked once. Every refusal is one line on stderr and exit 2.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeopt.data import artefact_path
from tests.helpers import refused, toy
from tests.helpers import run_cli as run

DEFAULT_CHECKPOINT = artefact_path("drl", "default")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def scenario(tmp_path: Path, fixture_catalog: dict) -> Path:
    p = tmp_path / "toy.json"
    p.write_text(json.dumps(toy(fixture_catalog)))
    return p


TRAIN = (
    "train",
    "--curve",
    "",
    "--no-progress",
    "--teacher-instances",
    "1",
    "--val-instances",
    "0",
)


# ================================================================ train: nothing of yours overwritten
def test_train_refuses_to_write_over_its_init_checkpoint(capsys, tmp_path):
    me = tmp_path / "me"
    shutil.copytree(DEFAULT_CHECKPOINT, me)
    before = snapshot(tmp_path)
    refused(capsys, *TRAIN, "--init", me, "--name", "me", "--out-dir", tmp_path, says="--init")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("which", ["--teacher-cache", "--val-cache"])
def test_train_writes_a_cache_only_over_a_cache(capsys, tmp_path, scenario, which):
    before = scenario.read_bytes()
    refused(
        capsys, *TRAIN, which, scenario, "--out-dir", tmp_path / "ck", says="not an optima cache"
    )
    assert scenario.read_bytes() == before and not (tmp_path / "ck").exists()


def test_train_never_writes_into_a_users_folder(capsys, tmp_path):
    mine = tmp_path / "d" / "n"
    mine.mkdir(parents=True)
    (mine / "config.json").write_text('{"mine": 1}')
    (mine / "history.json").write_text("my notes")
    before = snapshot(tmp_path)
    refused(capsys, *TRAIN, "--out-dir", tmp_path / "d", "--name", "n", says="did not write")
    assert snapshot(tmp_path) == before


def test_train_may_rerun_into_a_checkpoint_folder_it_wrote(tmp_path):
    from edgeopt.rl.train import Args, check_args

    ck = tmp_path / "ck" / "again"
    shutil.copytree(DEFAULT_CHECKPOINT, ck, ignore=shutil.ignore_patterns("README.md"))
    shutil.copy(artefact_path("drl", "teacher") / "optima.json", ck / "optima.json")
    check_args(Args(out_dir=str(tmp_path / "ck"), name="again", curve="", init=""))
    check_args(
        Args(
            out_dir=str(tmp_path / "ck"),
            name="new",
            curve="",
            teacher_cache=str(ck / "optima.json"),
        )
    )


# ================================================================ scenarios: refused by field
@pytest.mark.parametrize("kind", ["controller", "gnb", "edge"])
def test_only_the_cloud_node_may_be_called_cloud(capsys, tmp_path, fixture_catalog, kind):
    d = toy(fixture_catalog)
    nodes = d["topology"]["nodes"]
    k = next(i for i, n in enumerate(nodes) if n["kind"] == kind)
    old = nodes[k]["id"]
    nodes[0]["id"] = "dc"  # the real cloud, renamed
    nodes[k]["id"] = "cloud"
    rename = {"cloud": "dc", old: "cloud"}
    for e in d["topology"]["edges"]:
        e["source"], e["target"] = (rename.get(e[x], e[x]) for x in ("source", "target"))
    for r in d["requests"]:
        r["origin"] = rename.get(r["origin"], r["origin"])
    p = tmp_path / "renamed.json"
    p.write_text(json.dumps(d))
    refused(capsys, "validate", p, says=f"topology.nodes[{k}].id")
    refused(capsys, "solve", p, "--solver", "greedy", says="reserved for the cloud node")


@pytest.mark.parametrize(
    "where, field",
    [
        (("window_s",), "window_s"),
        (("topology", "edges", 0, "bandwidth_mbps"), "topology.edges[0].bandwidth_mbps"),
        (("topology", "nodes", 3, "gflops"), "topology.nodes[3].gflops"),
        (("topology", "nodes", 3, "memory_mb"), "topology.nodes[3].memory_mb"),
    ],
)
def test_vanishing_window_bandwidth_or_capacity_is_refused_naming_the_field(
    capsys, tmp_path, fixture_catalog, where, field
):
    from edgeopt.scenario.model import MIN_WINDOW_S

    d = toy(fixture_catalog)
    obj = d
    for key in where[:-1]:
        obj = obj[key]
    assert d["topology"]["nodes"][3]["kind"] == "controller"
    for tiny in (1e-300, MIN_WINDOW_S / 2):
        obj[where[-1]] = tiny
        p = tmp_path / "tiny.json"
        p.write_text(json.dumps(d))
        refused(capsys, "solve", p, "--solver", "milp", says=field)
    obj[where[-1]] = MIN_WINDOW_S
    p.write_text(json.dumps(d))
    assert run(capsys, "validate", p, "-q")[0] == 0


# ================================================================ solution files: the claims checked
@pytest.fixture
def solved(capsys, tmp_path, scenario) -> tuple[Path, dict]:
    out = tmp_path / "sol.json"
    assert run(capsys, "solve", scenario, "--solver", "milp", "--out", out)[0] == 0
    sol = json.loads(out.read_text())
    assert sol["status"] == "optimal" and sol["bound"] is not None
    return out, sol


def _rewritten(path: Path, sol: dict, **changes) -> Path:
    bad = path.with_name("bad.json")
    bad.write_text(json.dumps({**sol, **changes}))
    return bad


@pytest.mark.parametrize(
    "change, says",
    [
        ({"bound": None}, "without a bound"),
        ({"bound": "half"}, "is not the objective"),
        ({"bound": "double"}, "above the plan's objective"),
        ({"objective": None}, "no objective"),
        ({"status": "infeasible"}, "complete and feasible"),
        ({"status": "error"}, "complete and feasible"),
        ({"status": "feasible", "bound": "double"}, "above the plan's objective"),
        ({"terms": "shifted"}, "terms sum to"),
        ({"terms": "swapped"}, "but the evaluator finds"),
    ],
)
def test_validate_checks_what_a_solution_claims(capsys, scenario, solved, change, says):
    path, sol = solved
    z = sol["objective"]
    terms = dict(sol["terms"])
    values = {
        "half": z / 2,
        "double": 2 * z,
        "shifted": {**terms, "accuracy": terms["accuracy"] + 1.0},
        "swapped": {**terms, "accuracy": terms["balance"], "balance": terms["accuracy"]},
    }
    changes = {
        k: values.get(v, v) if isinstance(v, str) and k != "status" else v
        for k, v in change.items()
    }
    assert run(capsys, "validate", scenario, "--solution", path, "-q")[0] == 0
    code, out, _ = run(
        capsys, "validate", scenario, "--solution", _rewritten(path, sol, **changes), "-q"
    )
    assert code == 1 and says in out, out


def test_validate_refuses_an_item_assigned_twice_in_a_solution(capsys, scenario, solved):
    path, sol = solved
    text = path.read_text()
    first = next(iter(sol["assignment"]))
    entry = json.dumps(sol["assignment"][first])
    doubled = text.replace('"assignment": {', f'"assignment": {{"{first}": {entry}, ', 1)
    assert doubled != text
    bad = path.with_name("dup.json")
    bad.write_text(doubled)
    refused(capsys, "validate", scenario, "--solution", bad, says=f"key '{first}' appears twice")


def test_validate_accepts_a_bound_only_solution(capsys, tmp_path, scenario):
    out = tmp_path / "lp.json"
    assert run(capsys, "solve", scenario, "--solver", "lp", "--out", out)[0] == 0
    code, text, err = run(capsys, "validate", scenario, "--solution", out, "-q")
    assert code == 0, text + err


# ================================================================ compare: optimal means proven
def test_compare_counts_optimal_only_where_the_bound_meets_the_objective(tmp_path):
    from edgeopt.batch.store import Store, read_rows
    from edgeopt.report.compare import compare

    def row(solver: str, z: float, bound: float | None) -> dict:
        return {
            "instance_path": "A.json",
            "instance_name": "A",
            "instance_sha256": "sha-A",
            "kind": "problem",
            "n_items": 3,
            "n_columns": 9,
            "n_bins": 3,
            "sense": "min",
            "solver": solver,
            "settings": {},
            "settings_hash": "h",
            "status": "optimal",
            "objective": z,
            "objective_internal": z,
            "bound": bound,
            "bound_internal": bound,
            "wall_s": 1.0,
            "error": None,
        }

    db = tmp_path / "r.sqlite"
    with Store(db) as st:
        st.add(row("honest", 10.0, 10.0 - 1e-9))  # within 1e-6: proven
        st.add(row("half", 12.0, 6.0))  # bound Z/2: a plan, not a proof
        st.add(row("nobound", 11.0, None))
    c = compare(read_rows(db))
    s = {x.label: x for x in c.summaries}
    assert (s["honest"].optimal, s["half"].optimal, s["nobound"].optimal) == (1, 0, 0)
    assert (s["half"].feasible, s["nobound"].feasible) == (1, 1)
    ref = c.references["sha-A"]
    assert (ref.kind, ref.value, ref.solver) == ("optimum", 10.0, "honest")


# ================================================================ benchmarks that run nothing fail
TINY_GAP = "1\n2 3\n5 1 4\n2 6 3\n3 2 2\n1 2 2\n4 3\n"


@pytest.fixture
def orlib(tmp_path: Path) -> Path:
    d = tmp_path / "orlib"
    d.mkdir()
    (d / "gap0.txt").write_text(TINY_GAP)
    (d / "OPTIMA.md").write_text("| gap0 | 9 |\n")
    return d


@pytest.mark.parametrize(
    "argv, says",
    [
        (["orlib", "--orlib-dir", "{tmp}/nonexistent"], "--orlib-dir"),
        (["orlib", "--orlib-dir", "{orlib}", "--problems", "nosuch-1"], "nosuch-1"),
        (["orlib", "--orlib-dir", "{orlib}", "--optima", "{binary}"], "not UTF-8"),
        (["drl", "--gap-files", "nosuch", "--orlib-dir", "{orlib}"], "--gap-files"),
        (["drl", "--orlib-dir", "{tmp}/nowhere"], "--orlib-dir"),
        (["drl", "--held-out", "0"], "--held-out"),
        (["drl", "--large", "0"], "--large"),
        (["__init__"], "unknown benchmark"),
        (["scale", "--sizes", "c0-r0"], "--sizes"),
        (["scale", "--seed", "-4", "--quick"], "--seed"),
        (["scale", "--sizes", "c100000-r10000000"], "--max-columns"),
        (["symmetry", "--sizes", "100000x10000000"], "--max-columns"),
        (["symmetry", "--sizes", "0x5"], "--sizes"),
    ],
)
def test_a_benchmark_that_would_run_nothing_or_on_bad_input_fails_in_one_line(
    capsys, tmp_path, orlib, argv, says
):
    binary = tmp_path / "optima.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    subs = {"tmp": tmp_path, "orlib": orlib, "binary": binary}
    argv = [a.format(**subs) for a in argv]
    out = tmp_path / "report"
    refused(capsys, "bench", *argv, "--out", out, says=says)
    assert not out.exists()


# ================================================================ checkpoints: one line, nothing loaded
def _checkpoint_with(tmp_path: Path, **arrays) -> Path:
    """The shipped checkpoint copied, with some arrays of ``policy.npz`` replaced."""
    import numpy as np

    d = tmp_path / "ck"
    shutil.copytree(DEFAULT_CHECKPOINT, d)
    with np.load(d / "policy.npz") as z:
        old = {k: z[k] for k in z.files}
    np.savez_compressed(d / "policy.npz", **{**old, **arrays})
    return d


def test_a_deeply_nested_checkpoint_config_is_one_line(capsys, tmp_path, scenario):
    d = _checkpoint_with(tmp_path)
    cfg = (d / "config.json").read_text()
    depth = 100_000
    (d / "config.json").write_text(cfg.rstrip()[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}")
    refused(capsys, "solve", scenario, "--solver", "drl", "--set", f"checkpoint={d}", says="nested")


@pytest.mark.parametrize(
    "kind, says",
    [
        ("str", "more than float64 weights"),
        ("record", "expected floating-point"),
        ("complex", "more than float64 weights"),
        ("bool", "bool"),
        ("datetime", "datetime64"),
        ("huge", "beyond"),
        ("inflated", "more than float64 weights"),
    ],
)
def test_policy_weights_must_be_modest_floating_point_numbers(
    capsys, tmp_path, scenario, kind, says
):
    import numpy as np

    with np.load(DEFAULT_CHECKPOINT / "policy.npz") as z:
        k = z["res1/kernel"]
    bad = {
        "str": k.astype(str),
        "record": np.zeros(k.shape, dtype=[("a", "f4"), ("b", "f4")]),
        "complex": k.astype(complex),
        "bool": k > 0,
        "datetime": np.zeros(k.shape, dtype="datetime64[s]"),
        "huge": np.full(k.shape, 1e300),
        "inflated": np.zeros(2_500_000),  # 20 MB stored as a few kB
    }[kind]
    d = _checkpoint_with(tmp_path, **{"res1/kernel": bad})
    refused(capsys, "solve", scenario, "--solver", "drl", "--set", f"checkpoint={d}", says=says)


def test_a_text_file_as_policy_is_not_called_pickled_data(capsys, tmp_path, scenario):
    d = _checkpoint_with(tmp_path)
    (d / "policy.npz").write_text("hello\n")
    line = refused(
        capsys, "solve", scenario, "--solver", "drl", "--set", f"checkpoint={d}", says="not a .npz"
    )
    assert "pickle" not in line


# ================================================================ limits: threads, options, workers
@pytest.mark.parametrize(
    "argv, says",
    [
        (["--solver", "milp", "--set", "threads=100000"], "milp: option 'threads'"),
        (["--solver", "milp", "--set", "threads=-2"], "milp: option 'threads'"),
        (["--solver", "lns", "--set", "threads=5000"], "lns: option 'threads'"),
        (["--solver", "lp", "--set", "threads=0"], "lp: option 'threads'"),
        (["--solver", "cg", "--set", "threads=4096"], "cg: option 'threads'"),
        (["--solver", "milp", "--threads", "1024"], "--threads"),
        (["--solver", "cg", "--set", "per_item=0"], "cg: option 'per_item'"),
        (["--solver", "lns", "--set", "max_rounds=-5"], "lns: option 'max_rounds'"),
        (["--solver", "greedy", "--set", "cg.per_item=2"], "--set cg.per_item"),
        (["--solver", "greedy", "--set", "nosuch.x=2"], "--set nosuch.x"),
        (["--solver", "greedy", "--set", "threads=1"], "unknown option 'threads'"),
    ],
)
def test_solver_options_are_checked_before_the_solve(capsys, scenario, argv, says):
    refused(capsys, "solve", scenario, *argv, says=says)


def test_threads_and_workers_are_bounded_by_the_cores(capsys, tmp_path, scenario):
    from edgeopt.argcheck import cores

    n = cores()
    refused(capsys, "solve", scenario, "--solver", "milp", "--threads", n + 1, says=f"{n} cores")
    assert run(capsys, "solve", scenario, "--solver", "milp", "--set", f"threads={n}")[0] == 0
    db = tmp_path / "r.sqlite"
    batch = ("batch", scenario, "--solvers", "greedy", "--db", db, "--no-progress")
    refused(capsys, *batch, "--workers", 4 * n + 1, says="--workers")
    refused(capsys, *batch, "--set", "milp.threads=1", says="not one of the batch's --solvers")
    refused(capsys, *batch, "--set", "threads=1", says="unknown option 'threads'")
    assert not db.exists()


# ================================================================ outputs that cannot be written
def test_a_scheduler_that_is_not_an_address_is_one_line(capsys, tmp_path, scenario):
    db = tmp_path / "r.sqlite"
    refused(
        capsys,
        "batch",
        scenario,
        "--db",
        db,
        "--scheduler",
        "not a url",
        "--no-progress",
        says="--scheduler",
    )
    assert not db.exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_a_full_disk_on_stdout_is_one_line_not_an_internal_error(scenario):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    with open("/dev/full", "w") as full:
        p = subprocess.run(
            [sys.executable, "-m", "edgeopt.cli", "solve", str(scenario)],
            cwd=root,
            env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert p.returncode == 2, p.stderr
    assert p.stderr.splitlines() == ["edgeopt: error: cannot write output: No space left on device"]


# ================================================================ drl sampling: time and memory
def test_drl_sampling_honours_the_time_limit_in_bounded_chunks(monkeypatch, scenario):
    import edgeopt.solvers.drl as policy
    from edgeopt.core.instance import load_instance
    from edgeopt.solvers.drl import SAMPLE_ROUND
    from edgeopt.solvers.registry import get_solver

    sizes = []
    real = policy.rollout

    def counting(pol, problems, *args, **kw):
        sizes.append(len(problems))
        return real(pol, problems, *args, **kw)

    monkeypatch.setattr(policy, "rollout", counting)
    p = load_instance(scenario).problem
    res = get_solver("drl")(p, seed=0, time_limit_s=1.0, samples=10**6)
    assert res.wall_s <= 1.0 * 1.1 + 1.0
    assert res.status == "time_limit" and res.has_plan
    assert max(sizes) <= SAMPLE_ROUND and 1 < res.stats["sampled_plans"] < 10**6
    sizes.clear()
    n = 2 * SAMPLE_ROUND + SAMPLE_ROUND // 2
    full = get_solver("drl")(p, seed=0, beam=1, samples=n)  # no limit: every sample
    assert full.status == "feasible" and full.stats["sampled_plans"] == n
    assert sizes == [1, SAMPLE_ROUND, SAMPLE_ROUND, SAMPLE_ROUND // 2]


# ================================================================ Ctrl-C
def _wait_for_cpu(p, seconds: float, *, at_most_s: float = 90.0) -> None:
    """Until child ``p`` has used ``seconds`` of its own CPU time (or ended, or ``at_most_s`` of
    waiting): on a busy machine a fixed wall-clock wait may not reach the stage a test means."""
    import os
    import time

    ticks = os.sysconf("SC_CLK_TCK")
    waited = time.perf_counter()
    while time.perf_counter() - waited < at_most_s and p.poll() is None:
        fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        if (int(fields[11]) + int(fields[12])) / ticks >= seconds:
            return
        time.sleep(0.2)


def test_ctrl_c_stops_milp_within_two_seconds_keeping_its_best_plan(capsys, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    sc, sol = tmp_path / "c25.json", tmp_path / "sol.json"
    gen = ("generate", "--controllers", "25", "--requests", "150", "--seed", "5", "--out", sc)
    assert run(capsys, *gen)[0] == 0
    root = Path(__file__).resolve().parents[1]
    p = subprocess.Popen(
        [sys.executable, "-m", "edgeopt.cli", "solve", str(sc), "--solver", "milp"]
        + ["--out", str(sol)],
        cwd=root,
        env={**__import__("os").environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a background child may start with SIGINT ignored; Ctrl-C reaches a terminal's job
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        _wait_for_cpu(p, 6.0)  # past the warm start and the model build: HiGHS is searching
        t0 = time.perf_counter()
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert time.perf_counter() - t0 < 2.0 + 1.0, err  # 2 s, and a margin for a loaded machine
    assert p.returncode == 130 and "best plan so far is written" in err, err
    data = json.loads(sol.read_text())
    assert data["status"] == "time_limit" and data["stats"]["interrupted"] is True
    assert run(capsys, "validate", sc, "--solution", sol, "-q")[0] == 0


def test_sigterm_stops_a_batch_inside_a_milp_promptly(capsys, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    sc, db = tmp_path / "c25.json", tmp_path / "r.sqlite"
    gen = ("generate", "--controllers", "25", "--requests", "150", "--seed", "5", "--out", sc)
    assert run(capsys, *gen)[0] == 0
    root = Path(__file__).resolve().parents[1]
    p = subprocess.Popen(
        [sys.executable, "-m", "edgeopt.cli", "batch", str(sc), "--solvers", "milp"]
        + ["--db", str(db), "--workers", "1", "--no-progress"],
        cwd=root,
        env={**__import__("os").environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(6.0)  # HiGHS is searching (in this process: --workers 1)
        t0 = time.perf_counter()
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert time.perf_counter() - t0 < 2.0 + 1.0, err
    assert p.returncode == 128 + signal.SIGTERM and "terminate called" not in err, err


# ================================================================ memory guards
def test_import_gap_refuses_a_file_past_its_column_limit_before_parsing(capsys, tmp_path):
    m, n = 10, 1000  # a single-problem file of 10 000 columns
    rows = "\n".join(" ".join(["1"] * n) for _ in range(2 * m))
    f = tmp_path / "e101000"
    f.write_text(f"{m} {n}\n{rows}\n" + " ".join(["5"] * m) + "\n")
    out = tmp_path / "out"
    refused(
        capsys, "import-gap", f, "--out", out, "--max-columns", "5000", says="--max-columns 5,000"
    )
    refused(capsys, "import-gap", f, "--out", out, "--max-columns", "0", says="--max-columns")
    assert not out.exists()
    padded = tmp_path / "padded"  # few numbers, absurdly padded: refused by its size alone
    padded.write_text("2 1" + " " * 1_000_000 + "1 1 1 1 5 5\n")
    refused(capsys, "import-gap", padded, "--out", out, "--max-columns", "100", says="bytes")
    assert run(capsys, "import-gap", f, "--out", out)[0] == 0
    assert (out / "e101000.json").exists()


def test_readme_exit_codes_cover_every_command_that_exits_otherwise_than_solve():
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("## Errors and exit codes", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| `")}
    assert {"`solve`", "`validate`", "`batch`", "`train`", "`bench NAME`"} <= rows, rows
    assert "cannot write output" in section and "143" in section and "130" in section


def test_bench_scale_child_dies_with_a_killed_parent(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[1]
    p = subprocess.Popen(
        [sys.executable, "-m", "edgeopt.cli", "bench", "scale", "--quick", "--time-limit", "60"]
        + ["--out", str(tmp_path / "scale")],
        cwd=root,
        env={**__import__("os").environ, "PYTHONPATH": str(root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[int] = []
    try:
        for _ in range(200):  # the child starts within seconds
            time.sleep(0.1)
            tasks = Path(f"/proc/{p.pid}/task/{p.pid}/children")
            children = [int(x) for x in tasks.read_text().split()] if tasks.exists() else []
            if children:
                break
        assert children, "no child started"
        p.send_signal(signal.SIGKILL)
        p.wait()

        def running(pid: int) -> bool:  # a zombie waiting for its reaper is gone too
            try:
                return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
            except OSError:
                return False

        for _ in range(30):
            if not any(running(c) for c in children):
                break
            time.sleep(0.1)
        alive = [c for c in children if running(c)]
        for c in alive:
            __import__("os").kill(c, signal.SIGKILL)
        assert not alive
    finally:
        p.kill()


# ================================================================ milp: a plan within a short limit
def test_milp_with_no_time_to_build_its_model_returns_a_heuristic_plan(monkeypatch, scenario):
    import edgeopt.solvers.milp as milp
    from edgeopt.core.instance import load_instance
    from edgeopt.solvers.registry import get_solver

    def never(*a, **k):
        raise AssertionError("the model must not be built")

    monkeypatch.setattr(milp, "_BUILD_S_PER_COLUMN", 1e6)  # as if every column took ages
    monkeypatch.setattr(milp, "solve_model", never)
    p = load_instance(scenario).problem
    res = get_solver("milp")(p, seed=0, time_limit_s=1.0, warm_start="none")
    assert res.status == "time_limit" and res.has_plan and res.bound is None
    assert "too short to build" in res.message and res.wall_s < 1.0 * 1.1 + 1.0


def test_milp_falls_back_on_greedy_when_its_warm_start_finds_no_plan(scenario):
    from edgeopt.core.instance import load_instance
    from edgeopt.solvers.registry import get_solver

    p = load_instance(scenario).problem
    res = get_solver("milp")(p, seed=0, time_limit_s=20.0, warm_start="lp")  # lp: never a plan
    assert res.status == "optimal" and "greedy instead" in res.stats["warm_start"]


# ================================================================ messages that do not mislead
def test_escape_sequences_in_names_are_printed_inert(capsys, tmp_path, fixture_catalog):
    d = toy(fixture_catalog)
    d["name"] = "\x1b[31mred\x1b[0m"
    d["requests"][0]["id"] = "r\x1b[2J"
    p = tmp_path / "ansi.json"
    p.write_text(json.dumps(d))
    for argv in (("solve", p), ("validate", p)):
        code, out, err = run(capsys, *argv)
        assert code == 0 and "\x1b" not in out + err and "\\x1b[31mred" in out, out


def test_generate_blames_a_blank_name_on_name(capsys, tmp_path):
    out = tmp_path / "g.json"
    refused(capsys, "generate", "--name", "  ", "--out", out, says="--name")
    assert not out.exists()


def test_batch_never_writes_into_a_newer_results_database(capsys, tmp_path, scenario):
    import sqlite3

    db = tmp_path / "r.sqlite"
    batch = (
        "batch",
        scenario,
        "--solvers",
        "greedy",
        "--db",
        db,
        "--workers",
        "1",
        "--no-progress",
    )
    assert run(capsys, *batch)[0] == 0
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1
    con.execute("PRAGMA user_version = 7")
    con.commit()
    before = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    con.close()
    refused(capsys, *batch, "--retry-errors", says="newer edgeopt (schema 7")
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 1")
    con.execute("ALTER TABLE results ADD COLUMN future TEXT NOT NULL DEFAULT ''")
    con.commit()
    con.close()
    refused(capsys, *batch, says="column(s) future")
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM results").fetchone()[0] == before
    assert run(capsys, "compare", "--db", db)[0] == 0  # reading stays possible


def test_a_full_disk_is_not_called_a_damaged_database():
    import sqlite3

    from edgeopt.batch.store import _damaged

    msg = str(_damaged("r.sqlite", sqlite3.OperationalError("database or disk is full")))
    assert "cannot write" in msg and "damaged" not in msg


def test_the_size_guard_counts_long_routes(capsys, tmp_path, fixture_catalog):
    d = toy(fixture_catalog)
    p = tmp_path / "plain.json"
    p.write_text(json.dumps(d))
    assert run(capsys, "validate", p, "-q", "--max-columns", "500")[0] == 0
    # a chain of 300 edge nodes between the UPF and the gNB: every route to the cloud is 300 hops
    chain = [f"e{k}" for k in range(300)]
    d["topology"]["nodes"] += [{"id": n, "kind": "edge"} for n in chain]
    edges = d["topology"]["edges"]
    link = next(e for e in edges if {e["source"], e["target"]} == {"upf", "g0"})
    edges.remove(link)
    for u, v in zip(["upf", *chain], [*chain, "g0"]):
        edges.append({**link, "source": u, "target": v})
    p = tmp_path / "chain.json"
    p.write_text(json.dumps(d))
    refused(capsys, "validate", p, "--max-columns", "500", says="routes of up to")
    assert run(capsys, "validate", p, "-q", "--max-columns", "2000")[0] == 0


def test_ctrl_c_while_the_milp_is_built_keeps_the_warm_start_plan(monkeypatch, scenario):
    import edgeopt.solvers.milp as milp
    from edgeopt.core.instance import load_instance
    from edgeopt.core.result import Interrupted
    from edgeopt.solvers.registry import get_solver

    def ctrl_c(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(milp, "solve_model", ctrl_c)
    p = load_instance(scenario).problem
    with pytest.raises(Interrupted) as caught:
        get_solver("milp")(p, seed=0, warm_start="greedy")
    res = caught.value.partial
    assert res.status == "time_limit" and res.has_plan and res.stats["interrupted"] is True
    with pytest.raises(KeyboardInterrupt) as plain:  # no plan yet: a plain interrupt
        get_solver("milp")(p, seed=0, warm_start="none")
    assert not isinstance(plain.value, Interrupted)


def test_train_draws_its_curve_only_over_a_png(capsys, tmp_path, scenario):
    before = scenario.read_bytes()
    refused(
        capsys,
        "train",
        "--curve",
        scenario,
        "--no-progress",
        "--out-dir",
        tmp_path / "ck",
        says="not a PNG",
    )
    assert scenario.read_bytes() == before and not (tmp_path / "ck").exists()


def test_drl_lns_repair_stops_at_the_deadline(scenario):
    import time

    import numpy as np

    from edgeopt.core.instance import load_instance
    from edgeopt.solvers.drl import learned_repair

    p = load_instance(scenario).problem
    fixed = np.zeros(p.n_resources)
    rng = np.random.default_rng(0)
    assert learned_repair(samples=4)(p, fixed, rng) is not None
    late = learned_repair(samples=4, deadline=time.perf_counter())  # already passed
    assert late(p, fixed, rng) is None


@pytest.mark.parametrize("solver", ["cg", "dw"])
def test_ctrl_c_stops_cg_and_dw_within_two_seconds_keeping_their_plan(capsys, tmp_path, solver):
    """cg drives highspy itself, best/dw run numba searches and their own HiGHS models: Ctrl-C
    stops each within 2 s, writing the best plan so far (status time_limit, refereed)."""
    import signal
    import subprocess
    import sys
    import time

    sc, sol = tmp_path / "c25.json", tmp_path / "sol.json"
    gen = ("generate", "--controllers", "25", "--requests", "150", "--seed", "5", "--out", sc)
    assert run(capsys, *gen)[0] == 0
    root = Path(__file__).resolve().parents[1]
    p = subprocess.Popen(
        [sys.executable, "-m", "edgeopt.cli", "solve", str(sc), "--solver", solver]
        + ["--time-limit", "120", "--out", str(sol)],
        cwd=root,
        env={**__import__("os").environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        _wait_for_cpu(p, 8.0)  # past the start plan: the bound is being computed
        t0 = time.perf_counter()
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert time.perf_counter() - t0 < 2.0 + 1.0, err
    assert p.returncode == 130, err
    data = json.loads(sol.read_text())
    assert data["status"] == "time_limit" and data["stats"]["interrupted"] is True
    assert run(capsys, "validate", sc, "--solution", sol, "-q")[0] == 0


_BENCH_OPTIONS = {
    "orlib": [
        "--files",
        "--orlib-dir",
        "--problems",
        "--time-limit",
        "--threads",
        "--warm-start",
        "--optima",
    ],
    "drl": [
        "--checkpoint",
        "--held-out",
        "--large",
        "--milp-time-limit",
        "--gap-files",
        "--orlib-dir",
        "--seed",
        "--time-sizes",
    ],
    "scale": ["--sizes", "--seed", "--time-limit", "--milp-max-columns", "--max-columns"],
    "symmetry": ["--seeds", "--sizes", "--time-limit"],
    "heuristics": ["--solvers", "--time-limit", "--groups", "--orlib-dir"],
    "gap-large": ["--dir", "--instances", "--solvers", "--time-limit", "--threads", "--seed"],
}
_BAD_VALUES = ["abc", "nan", "1e999", "-7", "\x1b[31mred", "", "0x10"]


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.sampled_from([(b, o) for b, opts in _BENCH_OPTIONS.items() for o in opts]),
    st.sampled_from(_BAD_VALUES),
)
def test_fuzz_every_bench_option_with_bad_values_is_one_line(capsys, bench, value):
    """Every bench refuses a nonsense value of any option in one line, exit 2, before any work
    (an alarm fails the test if a bench starts running instead)."""
    import signal

    name, option = bench
    if value == "" and option in ("--warm-start", "--time-sizes"):
        return  # documented: an empty value means none (a valid run)
    capsys.readouterr()  # the fixture lives across examples: start from empty buffers

    def too_long(*_: object) -> None:
        raise AssertionError(f"bench {name} {option}={value!r} started running")

    old = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(20)
    try:
        try:
            code, _, err = run(capsys, "bench", name, option, value, "--out", "/nonexistent/out")
        except SystemExit as exc:  # argparse's own refusals end the process
            code, err = int(exc.code or 0), capsys.readouterr().err
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    lines = err.strip().splitlines()
    assert code == 2, (name, option, value, err)
    assert len(lines) == 1 and lines[0].startswith("edgeopt: error: "), err
    assert "internal error" not in err and "\x1b" not in err, err
