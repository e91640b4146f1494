"""Fuzzing every input path: malformed files give one clean error line and exit 2.

Each test starts from a valid file drawn by ``edgeopt.testing``, damages it
with ``malformed_json`` / ``malformed_text`` and drives ``edgeopt.cli.main``
in-process. Allowed outcomes: exit 2 with exactly one ``edgeopt: error:``
line and nothing new on disk, or (when the damage happens to leave the file
valid) a normal exit whose output is sane. ``EDGEOPT_DEBUG=1`` is set so an
internal error surfaces as its own exception (and hypothesis shrinks it)
instead of the CLI's catch-all line.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeopt.cli import main
from edgeopt.core.compile import compile_scenario
from edgeopt.core.io import load_problem, problem_from_dict, problem_to_dict
from edgeopt.core.solution import solution_to_dict
from edgeopt.errors import InputError
from edgeopt.jsonio import loads
from edgeopt.scenario.model import load_scenario, scenario_from_dict
from edgeopt.scenario.schema import CATALOG_FORMAT, validate_catalog
from edgeopt.solvers.registry import get_solver
from edgeopt.testing import catalogs, core_problems, malformed_json, malformed_text, scenario_dicts


def fuzz(share: float = 1.0) -> settings:
    """The active profile's settings, ``share`` of its examples, fixtures reset per example."""
    return settings(
        max_examples=max(10, int(settings.default.max_examples * share)),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


DEVICES = {
    "format": "edgeopt-devices/1",
    "profiles": {
        "test": {"gflops": 50.0, "memory_mb": 4096, "vm_overhead_mb": 128, "max_util": 0.9}
    },
}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``edgeopt ARGV`` in-process; internal errors raise (EDGEOPT_DEBUG) instead of exit 1."""
    capsys.readouterr()
    with mock.patch.dict(os.environ, {"EDGEOPT_DEBUG": "1"}):
        rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_clean_failure(rc: int, err: str) -> None:
    lines = err.splitlines()
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("edgeopt: error: "), err
    assert "Traceback" not in err


def listing(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*")}


# ------------------------------------------------------------------ scenario and core-problem files
@fuzz()
@given(raw=scenario_dicts(max_controllers=2, max_requests=2).flatmap(malformed_json))
def test_malformed_scenario_files_fail_cleanly_in_validate_and_solve(capsys, raw):
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "s.json").write_bytes(raw)
        before = listing(d)
        rc, out, err = run(capsys, "validate", str(d / "s.json"))
        if rc == 0:
            assert err == "" and "scenario" in out.splitlines()[0]
        else:
            assert_clean_failure(rc, err)
        rc2, out2, err2 = run(
            capsys, "solve", str(d / "s.json"), "--solver", "greedy", "--out", str(d / "sol.json")
        )
        if rc2 in (0, 3, 4):  # a plan; proven infeasible; no plan (solve's exit codes)
            assert rc == 0 and (d / "sol.json").exists()
            sol = json.loads((d / "sol.json").read_text())
            assert rc2 == {"feasible": 0, "optimal": 0, "infeasible": 3}.get(sol["status"], 4)
            rc3, out3, _ = run(
                capsys, "validate", str(d / "s.json"), "--solution", str(d / "sol.json")
            )
            # a plan-less "infeasible" is a claim the referee checks (an item with no admissible
            # column proves it) and accepts, as it accepts lp's bound-only files
            assert rc3 == (0 if sol["status"] in ("feasible", "infeasible") else 1), out3
        else:
            assert_clean_failure(rc2, err2)
            assert listing(d) == before  # no partial solution file, no temp file


@fuzz()
@given(raw=core_problems(max_items=3).map(problem_to_dict).flatmap(malformed_json))
def test_malformed_core_problem_files_fail_cleanly(capsys, raw):
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "p.json").write_bytes(raw)
        before = listing(d)
        rc, out, err = run(capsys, "validate", str(d / "p.json"))
        if rc == 0:
            p = load_problem(d / "p.json")
            assert err == "" and f"{p.n_items} items" in out
        else:
            assert_clean_failure(rc, err)
        assert listing(d) == before


# ------------------------------------------------------------------ solution files
@st.composite
def instance_and_solution(draw: st.DrawFn) -> tuple[dict, dict]:
    """A valid instance file (scenario or core problem) and a greedy solution for it."""
    if draw(st.booleans()):
        inst = draw(scenario_dicts(max_controllers=2, max_requests=2, cloud=True))
        problem = compile_scenario(scenario_from_dict(inst))
    else:
        inst = problem_to_dict(
            draw(core_problems(max_items=3, sense=draw(st.sampled_from(["min", "max"]))))
        )
        problem = problem_from_dict(inst)
    res = get_solver("greedy")(problem, seed=0)
    if res.assignment is None:  # still a solution file: a partial assignment
        res.assignment = np.full(problem.n_items, -1)
    return inst, json.loads(json.dumps(solution_to_dict(problem, res, instance_sha256="0" * 64)))


@fuzz()
@given(pair=instance_and_solution(), data=st.data())
def test_malformed_solution_files_fail_cleanly(capsys, pair, data):
    inst, sol = pair
    raw = data.draw(malformed_json(sol), label="solution bytes")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "i.json").write_text(json.dumps(inst))
        (d / "sol.json").write_bytes(raw)
        before = listing(d)
        rc, out, err = run(capsys, "validate", str(d / "i.json"), "--solution", str(d / "sol.json"))
        if rc in (0, 1):  # 1: the solution loads but disagrees with the evaluator
            assert err == ""
            line = next(x for x in out.splitlines() if "solution" in x)
            if "no plan" not in line:  # a file without a plan is shown by its status and bound
                z = float(line.split("Z = ")[1].split()[0])
                assert math.isfinite(z)
            assert (rc == 1) == ("problem:" in out)
        else:
            assert_clean_failure(rc, err)
        assert listing(d) == before


# ------------------------------------------------------------------ catalog files
def catalog_files():
    """Standalone catalog documents, with the optional family fields the generator reads."""

    def dress(c: dict) -> dict:
        for fam in c["families"].values():
            fam.update(input_shape=[8, 8, 1], classes=10, data="synthetic")
        return {"format": CATALOG_FORMAT, **c}

    return catalogs(max_families=2, max_configs=2).map(dress)


@fuzz()
@given(raw=catalog_files().flatmap(malformed_json))
def test_malformed_catalogs_fail_cleanly_in_validate_catalog(raw):
    try:
        data = loads(raw)
        cat = validate_catalog(data, source="<fuzz>")
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert cat["families"] and all(f["configs"] for f in cat["families"].values())


@fuzz(0.5)
@given(raw=catalog_files().flatmap(malformed_json))
def test_malformed_catalogs_fail_cleanly_in_generate(capsys, raw):
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "cat.json").write_bytes(raw)
        (d / "dev.json").write_text(json.dumps(DEVICES))
        before = listing(d)
        rc, out, err = run(
            capsys,
            "generate",
            "--seed",
            "0",
            "--out",
            str(d / "out" / "s.json"),
            "--catalog",
            str(d / "cat.json"),
            "--devices",
            str(d / "dev.json"),
            "--device-mix",
            "test:1",
            "--controllers",
            "2",
            "--requests",
            "3",
        )
        if rc == 0:
            s = load_scenario(d / "out" / "s.json")  # the written scenario must load again
            compile_scenario(s)
            assert listing(d) - before == {"out", "out/s.json"}
        else:
            assert_clean_failure(rc, err)
            assert listing(d) - before <= {"out"}  # no scenario, no temp file


# ------------------------------------------------------------------ OR-Library files
@st.composite
def gap_texts(draw: st.DrawFn) -> str:
    """A small valid OR-Library GAP file."""
    n_problems = draw(st.integers(1, 2))
    lines = [str(n_problems)]
    for _ in range(n_problems):
        m, n = draw(st.integers(1, 3)), draw(st.integers(1, 4))
        lines.append(f"{m} {n}")
        for lo in (1, 1):  # costs, then resource use
            for _ in range(m):
                lines.append(" ".join(str(draw(st.integers(lo, 30))) for _ in range(n)))
        lines.append(" ".join(str(draw(st.integers(5, 60))) for _ in range(m)))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("shape", ["abc", [1e300, 1e300], [-1], {"a": 1}, [], [0.5]])
def test_generate_rejects_a_bad_input_shape_cleanly(tmp_path, capsys, fixture_catalog, shape):
    # Was a bug: validate_catalog let any input_shape through; generate then crashed
    # (TypeError, non-finite JSON) or wrote a scenario with a negative sample_kb.
    fixture_catalog["families"]["toy-vision"]["input_shape"] = shape
    rc, err = generate_with(tmp_path, capsys, fixture_catalog)
    assert_clean_failure(rc, err)
    assert "input_shape" in err and not (tmp_path / "s.json").exists()


@pytest.mark.parametrize("key", ["epochs", "host_train_ms_per_sample"])
def test_generate_with_free_training_writes_a_loadable_scenario(
    tmp_path, capsys, fixture_catalog, key
):
    for fam in fixture_catalog["families"].values():
        for cfg in fam["configs"]:
            cfg[key] = 0
    rc, err = generate_with(tmp_path, capsys, fixture_catalog)
    if rc == 0:
        load_scenario(tmp_path / "s.json")
    else:
        assert_clean_failure(rc, err)


def generate_with(d: Path, capsys, catalog: dict) -> tuple[int, str]:
    (d / "cat.json").write_text(json.dumps(catalog))
    (d / "dev.json").write_text(json.dumps(DEVICES))
    rc, _, err = run(
        capsys,
        "generate",
        "--out",
        str(d / "s.json"),
        "--catalog",
        str(d / "cat.json"),
        "--devices",
        str(d / "dev.json"),
        "--device-mix",
        "test:1",
    )
    return rc, err


@fuzz()
@given(raw=gap_texts().flatmap(malformed_text), stem=st.sampled_from(["gap3", "gapz"]))
def test_malformed_orlib_files_fail_cleanly_and_write_nothing(capsys, raw, stem):
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / f"{stem}.txt").write_bytes(raw)
        rc, out, err = run(capsys, "import-gap", str(d / f"{stem}.txt"), "--out", str(d / "out"))
        if rc == 0:
            files = sorted((d / "out").glob("*.json"))
            n = int(out.split(": ")[1].split()[0])
            assert len(files) == n >= 1
            for f in files:
                p = load_problem(f)
                assert (
                    p.sense == ("max" if stem == "gap3" else "min")
                    and np.isfinite(p.col_cost).all()
                )
        else:
            assert_clean_failure(rc, err)
            assert not (d / "out").exists() or not any((d / "out").iterdir())


@pytest.mark.parametrize("value", ["1e30", "9" * 30])
def test_import_gap_never_writes_a_file_it_cannot_read(tmp_path, capsys, value):
    f = tmp_path / "gap3.txt"
    f.write_text(f"2\n1 1\n5\n1\n5\n1 1\n{value}\n1\n5\n")
    rc, out, err = run(capsys, "import-gap", str(f), "--out", str(tmp_path / "out"))
    if rc == 0:
        for p in (tmp_path / "out").glob("*.json"):
            load_problem(p)
    else:
        assert_clean_failure(rc, err)
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_json_is_one_clean_line(tmp_path, capsys, depth):
    f = tmp_path / "deep.json"
    f.write_text('{"format": "edgeopt-scenario/1", "meta": ' + "[" * depth + "]" * depth + "}")
    rc, _, err = run(capsys, "validate", str(f))
    assert_clean_failure(rc, err)


# ------------------------------------------------------------------ checkpoints (issue 22)
def _shipped_checkpoint() -> Path:
    from edgeopt.policy.checkpoint import DEFAULT_CHECKPOINT

    return Path(DEFAULT_CHECKPOINT)


@fuzz(0.5)
@given(data=st.data())
def test_malformed_checkpoint_configs_fail_cleanly(data):
    import shutil

    from edgeopt.policy.checkpoint import read_checkpoint

    src = _shipped_checkpoint()
    raw = data.draw(malformed_json(json.loads((src / "config.json").read_text())), label="config")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "ck"
        shutil.copytree(src, d)
        (d / "config.json").write_bytes(raw)
        try:
            read_checkpoint(d)
        except InputError as exc:
            assert "\n" not in str(exc)


@pytest.mark.parametrize("hidden", [np.timedelta64("NaT"), np.timedelta64(64, "Y"), True, 64.0])
def test_a_hidden_width_that_is_not_an_integer_is_one_line(hidden, tmp_path):
    """NumPy counts timedelta64 as an integer type (hypothesis found a NaT width crashing)."""
    from edgeopt.policy.checkpoint import read_checkpoint

    src = _shipped_checkpoint()
    with np.load(src / "policy.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["hidden"] = np.array(hidden)
    d = tmp_path / "ck"
    d.mkdir()
    (d / "config.json").write_bytes((src / "config.json").read_bytes())
    np.savez(d / "policy.npz", **arrays)
    with pytest.raises(InputError, match="'hidden' must be an integer") as exc:
        read_checkpoint(d)
    assert "\n" not in str(exc.value)


@pytest.mark.filterwarnings("ignore:Stored array in format")  # numpy saving record dtypes
@fuzz(0.5)
@given(data=st.data())
def test_policy_arrays_of_any_dtype_and_shape_fail_cleanly_or_give_finite_logits(data):
    import hypothesis.extra.numpy as hnp

    from edgeopt.policy.checkpoint import read_checkpoint

    src = _shipped_checkpoint()
    with np.load(src / "policy.npz") as z:
        arrays = {k: z[k] for k in z.files}
    key = data.draw(st.sampled_from(sorted(arrays)), label="member")
    old = arrays[key]
    dtype = data.draw(
        st.one_of(hnp.scalar_dtypes(), st.just(old.dtype), hnp.array_dtypes(max_size=2)),
        label="dtype",
    )
    shape = data.draw(st.one_of(st.just(old.shape), hnp.array_shapes(min_dims=0, max_dims=3)))
    arrays[key] = data.draw(hnp.arrays(dtype, shape), label="array")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "ck"
        d.mkdir()
        (d / "config.json").write_bytes((src / "config.json").read_bytes())
        np.savez(d / "policy.npz", **arrays)
        try:
            policy, _, _ = read_checkpoint(d)
        except InputError as exc:
            assert "\n" not in str(exc)
            return
    for name, pair in policy.weights.items():  # what was accepted is modest and finite
        for w in (x for x in pair if x is not None):
            assert w.dtype == np.float32 and np.isfinite(w).all() and np.abs(w).max() <= 1e4, name


@fuzz(0.5)
@given(
    flag=st.sampled_from(
        [
            "--seed",
            "--epochs",
            "--hidden",
            "--rollouts",
            "--learning-rate",
            "--val-every",
            "--teacher-instances",
            "--milp-time-limit",
            "--min-controllers",
            "--max-controllers",
        ]
    ),
    value=st.one_of(
        st.integers(-(10**12), 10**12).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["", "nan", "1e400", "-0", "0x10", "true"]),
    ),
)
def test_train_options_are_refused_in_one_line_or_accepted(capsys, flag, value):
    from edgeopt.cli.train import parse_args
    from edgeopt.rl.train import check_args

    with tempfile.TemporaryDirectory() as tmp:
        argv = ["--out-dir", tmp, "--curve", "", "--no-progress", flag, value]
        try:
            args = parse_args(argv, "edgeopt train")
        except SystemExit:  # argparse: not a number at all
            capsys.readouterr()
            return
        try:
            check_args(args)
        except InputError as exc:
            assert flag in str(exc) or "--max-controllers" in str(exc), str(exc)
            assert "\n" not in str(exc)
        assert os.listdir(tmp) == []  # nothing written by the checks
