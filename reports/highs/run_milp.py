"""``run_milp.py SCENARIO [--limit S] [--symmetry] [--set OPTION=VALUE ...]``: edgeopt's
``milp`` (seed 0, one HiGHS thread, its default greedy+ls warm start) on a scenario file, with
extra HiGHS options set after edgeopt's own; prints one JSON line. Works on this tree and on
an older one put first on PYTHONPATH (``git archive a67c985^ | tar -x -C /tmp/old``)."""

import argparse
import json
import time

import edgeopt.solvers.highs as H
from edgeopt.core.compile import compile_scenario
from edgeopt.scenario.model import load_scenario
from edgeopt.solvers.registry import get_solver

ap = argparse.ArgumentParser()
ap.add_argument("scenario")
ap.add_argument("--limit", type=float, default=30.0)
ap.add_argument("--symmetry", action="store_true")
ap.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE")
a = ap.parse_args()
extra = {}
for kv in a.set:
    k, v = kv.split("=", 1)
    extra[k] = {"true": True, "false": False}.get(v.lower(), v)
configure = H.configure


def configure_more(h, o, **kw):
    configure(h, o, **kw)
    for k, v in extra.items():
        h.setOptionValue(k, v)


H.configure = configure_more
p = compile_scenario(load_scenario(a.scenario))
t0 = time.perf_counter()
res = get_solver("milp")(p, seed=0, time_limit_s=a.limit, threads=1, symmetry=a.symmetry)
st = res.stats
print(
    json.dumps(
        {
            "edgeopt": H.__file__,
            "scenario": p.name,
            "symmetry": a.symmetry,
            "limit_s": a.limit,
            "set": a.set,
            "status": res.status,
            "objective": res.objective,
            "bound": res.bound,
            "wall_s": round(time.perf_counter() - t0, 2),
            "nodes": st.get("nodes"),
            "dense_row_guard": st.get("dense_row_guard"),
        }
    )
)
