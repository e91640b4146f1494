"""The edgeopt command end to end: generate, validate, solve, and bad input."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from edgeopt.cli import main
from tests.helpers import FIXTURE_CATALOG, TINY_DEVICES, toy

CAT = str(FIXTURE_CATALOG)


@pytest.fixture
def devices(tmp_path: Path) -> str:
    p = tmp_path / "devices.json"
    p.write_text(json.dumps(TINY_DEVICES))
    return str(p)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def gen_args(out: Path, devices: str, seed: int = 7) -> list[str]:
    return [
        "generate",
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--catalog",
        CAT,
        "--devices",
        devices,
        "--device-mix",
        "small:2,large:1",
        "--controllers",
        "4",
        "--requests",
        "10",
    ]


def test_generate_is_byte_identical_for_the_same_seed(tmp_path, capsys, devices):
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    assert run(capsys, *gen_args(a, devices))[0] == 0
    assert run(capsys, *gen_args(b, devices))[0] == 0
    assert run(capsys, *gen_args(c, devices, seed=8))[0] == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_solve_then_validate_reproduces_the_objective(tmp_path, capsys, devices):
    inst = tmp_path / "i.json"
    run(capsys, *gen_args(inst, devices))
    for solver in ("greedy", "random"):
        sol = tmp_path / f"{solver}.json"
        code, out, err = run(
            capsys, "solve", str(inst), "--solver", solver, "--out", str(sol), "--seed", "3"
        )
        assert code == 0, err
        assert out.count("\n") == 1 and solver in out
        data = json.loads(sol.read_text())
        assert data["format"] == "edgeopt-solution/1" and data["status"] == "feasible"
        assert math.isclose(sum(data["terms"].values()), data["objective"], rel_tol=1e-9)
        assert set(data["assignment"]) == {f"r{i}" for i in range(10)}
        code, out, err = run(capsys, "validate", str(inst), "--solution", str(sol))
        assert code == 0, out
        assert "feasible" in out and "problem:" not in out


def test_validate_flags_a_tampered_solution(tmp_path, capsys, devices):
    inst, sol = tmp_path / "i.json", tmp_path / "s.json"
    run(capsys, *gen_args(inst, devices))
    run(capsys, "solve", str(inst), "--out", str(sol))
    data = json.loads(sol.read_text())
    data["objective"] *= 0.5
    sol.write_text(json.dumps(data))
    code, out, _ = run(capsys, "validate", str(inst), "--solution", str(sol))
    assert code == 1 and "evaluator finds" in out


def bad_cases() -> list[tuple[str, object, str]]:
    """(case, mutation or raw text, field the error must name)."""
    cases: list[tuple[str, object, str]] = [
        ("malformed", '{"format": "edgeopt-scenario/1", ', "line"),
        ("truncated", "", "line"),
        ("not-object", "[1, 2]", "expected a JSON object"),
    ]

    def m(fn):
        return fn

    cases += [
        ("unknown-format", m(lambda d: d.update(format="edgeopt-scenario/9")), "format"),
        ("missing-field", m(lambda d: d.pop("window_s")), "window_s"),
        ("unknown-field", m(lambda d: d.update(colour="red")), "colour"),
        (
            "wrong-type",
            m(lambda d: d["requests"][0].update(train_samples="many")),
            "requests[0].train_samples",
        ),
        ("nan", "NAN", "key 'weight'"),
        ("inf", "INF", "key 'weight'"),
        ("huge", m(lambda d: d["requests"][1].update(sample_kb=1e300)), "requests[1].sample_kb"),
        (
            "zero-capacity",
            m(lambda d: d["topology"]["nodes"][3].update(memory_mb=0)),
            "topology.nodes[3].memory_mb",
        ),
        (
            "negative-capacity",
            m(lambda d: d["topology"]["nodes"][4].update(gflops=-5)),
            "topology.nodes[4].gflops",
        ),
        (
            "zero-bandwidth",
            m(lambda d: d["topology"]["edges"][0].update(bandwidth_mbps=0)),
            "topology.edges[0].bandwidth_mbps",
        ),
        (
            "unknown-family",
            m(lambda d: d["requests"][0].update(family="nope")),
            "requests[0].family",
        ),
        (
            "unknown-origin",
            m(lambda d: d["requests"][2].update(origin="upf")),
            "requests[2].origin",
        ),
        (
            "unknown-config-field",
            m(lambda d: d["catalog"]["families"]["toy-vision"]["configs"][0].update(speed=1)),
            "catalog.families.toy-vision.configs[0].speed",
        ),
        ("disconnected", m(lambda d: d["topology"]["edges"].pop(3)), "disconnected"),
        ("duplicate-request", m(lambda d: d["requests"][1].update(id="r0")), "requests[1].id"),
        (
            "duplicate-node",
            m(lambda d: d["topology"]["nodes"][4].update(id="c0")),
            "topology.nodes[4].id",
        ),
        (
            "duplicate-config",
            m(
                lambda d: d["catalog"]["families"]["toy-vision"]["configs"][1].update(
                    id="w1.00-b32-e2"
                )
            ),
            "configs[1].id",
        ),
        (
            "unknown-edge-node",
            m(lambda d: d["topology"]["edges"][1].update(target="g9")),
            "topology.edges[1].target",
        ),
        ("bool-as-number", m(lambda d: d["weights"].update(balance=True)), "weights.balance"),
        (
            "accuracy-range",
            m(lambda d: d["requests"][0].update(min_accuracy=1.5)),
            "requests[0].min_accuracy",
        ),
    ]
    return cases


@pytest.mark.parametrize("case,mutation,field", bad_cases(), ids=[c[0] for c in bad_cases()])
@pytest.mark.parametrize("command", ["solve", "validate"])
def test_bad_input_is_one_line_exit_2_nothing_written(
    tmp_path, capsys, fixture_catalog, case, mutation, field, command
):
    f = tmp_path / "bad.json"
    if isinstance(mutation, str) and mutation in ("NAN", "INF"):
        d = toy(fixture_catalog)
        text = json.dumps(d).replace(
            '"weight": 2', '"weight": ' + ("NaN" if mutation == "NAN" else "Infinity")
        )
        f.write_text(text)
    elif isinstance(mutation, str):
        f.write_text(mutation)
    else:
        d = copy.deepcopy(toy(fixture_catalog))
        mutation(d)
        f.write_text(json.dumps(d))
    out_file = tmp_path / "sol.json"
    argv = ["solve", str(f), "--out", str(out_file)] if command == "solve" else ["validate", str(f)]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(f) in lines[0] and field in lines[0], lines[0]
    assert "Traceback" not in err
    assert not out_file.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.json"]


def test_missing_file_and_unknown_solver(tmp_path, capsys):
    code, _, err = run(capsys, "solve", str(tmp_path / "nope.json"))
    assert code == 2 and "nope.json" in err and "not found" in err
    f = tmp_path / "i.json"
    f.write_text("{}")
    code, _, err = run(capsys, "solve", str(f), "--solver", "magic")
    assert code == 2 and "unknown solver 'magic'" in err


def test_every_subcommand_has_help(capsys):
    from edgeopt.cli import COMMANDS, Group

    def every(table, prefix):
        for name, entry in table.items():
            yield [*prefix, name]
            if isinstance(entry, Group):
                yield from every(entry.commands, [*prefix, name])

    for argv in every(COMMANDS, []):
        assert main([*argv, "--help"]) == 0  # main returns the code (argparse's exit caught)
        assert "usage: edgeopt " + " ".join(argv) in capsys.readouterr().out


def test_help_imports_no_command_and_no_solver():
    """``edgeopt --help`` reads the table of commands only: no command module, no solver."""
    import subprocess
    import sys

    code = (
        "import sys; from edgeopt.cli import main; assert main(['--help']) == 0; "
        "loaded = [m for m in sys.modules if m.startswith('edgeopt.') and m not in "
        "('edgeopt.cli', 'edgeopt.cli.parser', 'edgeopt.argcheck', 'edgeopt.errors', "
        "'edgeopt.jsonio')]; assert not loaded, loaded"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_python_dash_m_edgeopt_is_the_command():
    import subprocess
    import sys

    from edgeopt import __version__

    for module in ("edgeopt", "edgeopt.cli"):
        p = subprocess.run(
            [sys.executable, "-m", module, "--version"], capture_output=True, text=True
        )
        assert (p.returncode, p.stdout.strip()) == (0, f"edgeopt {__version__}")


def test_an_unknown_benchmark_or_experiment_is_named_in_one_line(capsys):
    for group, noun in (("bench", "benchmark"), ("experiment", "experiment")):
        code, _, err = run(capsys, group, "edgeopt.core")  # a module name is not a command
        assert code == 2 and err.count("\n") == 1 and f"unknown {noun} 'edgeopt.core'" in err


def test_only_the_command_package_parses_arguments():
    """argparse lives in edgeopt/cli/; library modules take typed keyword arguments."""
    root = Path(__file__).resolve().parents[1] / "edgeopt"
    offenders = [
        str(f.relative_to(root))
        for f in root.rglob("*.py")
        if "cli" not in f.relative_to(root).parts[:1]
        and ("import argparse" in f.read_text() or "Parser(" in f.read_text())
    ]
    assert offenders == []
