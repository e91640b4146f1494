"""The import graph of edgeopt: no circle, and no import from a lower layer to a higher one.

Every import counts, at module level or inside a function (a function-level
import is a tie all the same). Layers, from the ground up, follow STYLE's one-way
flow: scenario → core → policy inference → solvers → what uses them.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]

#: Packages (or top-level modules) by layer; a package may import its own layer and below.
LAYERS: list[set[str]] = [
    {"edgeopt", "edgeopt.errors", "edgeopt.fields", "edgeopt.jsonio", "edgeopt.data"},
    {"edgeopt.paths", "edgeopt.argcheck"},
    {"edgeopt.scenario"},
    {"edgeopt.core", "edgeopt.profiling"},
    {"edgeopt.policy"},
    {"edgeopt.solvers"},
    {"edgeopt.testing", "edgeopt.batch", "edgeopt.experiments", "edgeopt.rl", "edgeopt.rounds"},
    {"edgeopt.report", "edgeopt.bench"},
    {"edgeopt.demo"},
    {"edgeopt.cli", "edgeopt.__main__"},
]
RANK = {name: k for k, names in enumerate(LAYERS) for name in names}


def _modules() -> dict[str, Path]:
    mods = {}
    for f in (ROOT / "edgeopt").rglob("*.py"):
        parts = list(f.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = f
    return mods


def import_graph() -> nx.DiGraph:
    """Module → module it imports (edgeopt's own modules only)."""
    mods = _modules()

    def resolve(name: str) -> str:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name

    g = nx.DiGraph()
    g.add_nodes_from(mods)
    for m, f in mods.items():
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [resolve(a.name) for a in node.names if a.name.startswith("edgeopt")]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("edgeopt"):
                assert node.level == 0, f"{m}: relative import"
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    targets.append(full if full in mods else resolve(str(node.module)))
            for t in targets:
                if t and t != m:
                    g.add_edge(m, t)
    return g


def layer_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def test_every_package_has_a_layer():
    unknown = sorted({layer_of(m) for m in import_graph()} - set(RANK))
    assert unknown == [], f"give these a layer in tests/test_layers.py: {unknown}"


def test_the_import_graph_has_no_circle():
    circles = [sorted(c) for c in nx.strongly_connected_components(import_graph()) if len(c) > 1]
    assert circles == []


def test_no_import_runs_back_up_a_layer():
    g = import_graph()
    upward = [
        f"{a} -> {b}"
        for a, b in g.edges
        if layer_of(a) in RANK and layer_of(b) in RANK and RANK[layer_of(a)] < RANK[layer_of(b)]
    ]
    assert upward == []


def test_the_layers_of_the_style_guide():
    """Core imports nothing above it; solvers never reach into training (rl)."""
    g = import_graph()
    for a, b in g.edges:
        if a.startswith("edgeopt.core"):
            assert layer_of(b) not in {"edgeopt.solvers", "edgeopt.rl", "edgeopt.batch"}, (a, b)
        if a.startswith(("edgeopt.solvers", "edgeopt.policy")):
            assert not b.startswith("edgeopt.rl"), (a, b)


def test_training_frameworks_stay_in_rl_and_profiling():
    """TensorFlow, Keras and Gymnasium are imported only by rl/ and profiling/ (the [ml] extra)."""
    heavy = ("tensorflow", "keras", "gymnasium", "sklearn")
    found = []
    for m, f in _modules().items():
        if m.startswith(("edgeopt.rl", "edgeopt.profiling")):
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{m}: {n}" for n in names if n.split(".")[0] in heavy]
    assert found == []


_BLOCK = """
import importlib.abc, json, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'tensorflow', 'keras', 'gymnasium', 'sklearn'}:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
        return None
sys.meta_path.insert(0, Block())
from edgeopt.core.instance import load_instance
from edgeopt.solvers.registry import get_solver, solver_names
p = load_instance(sys.argv[1]).problem
out = {}
for name in solver_names() + ["drl+ls", "drl+lns", "greedy+ls"]:
    r = get_solver(name)(p, seed=0, time_limit_s=5.0)
    out[name] = [r.status, r.has_plan]
print(json.dumps(out))
"""


def test_every_solver_plans_without_the_training_frameworks(tmp_path):
    """``pip install edgeopt`` without the [ml] extra: with TensorFlow, Keras, Gymnasium and
    scikit-learn blocked from import, every registered solver runs (the learned planner too)
    and each one but the LP bound returns a plan."""
    import json

    from tests.helpers import make_instances

    scen = make_instances(tmp_path, 1)[0]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", _BLOCK, str(scen)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.splitlines()[-1])
    assert {"drl", "drl+lns", "milp", "cg", "best"} <= set(got)
    for name, (status, has_plan) in got.items():
        assert status != "error", name
        assert has_plan or (name == "lp" and status == "bound"), (name, status)
