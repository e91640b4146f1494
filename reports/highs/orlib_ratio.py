"""edgeopt's ``milp`` against a direct highspy solve with HiGHS defaults, on OR-Library problems.

For each problem and repetition, in fresh processes and one HiGHS thread:

* ours: ``edgeopt solve PROBLEM.json --solver milp --threads 1 --time-limit T`` (the
  solution file's ``wall_s``: warm start, reduction, build and HiGHS). ``--guard always``
  runs the same command through ``with_guard.py always`` (HiGHS's sub-MIP heuristics and
  restarts off on every MIP: the options from a67c985 until cc68601); ``never`` forces them on.
* direct: the same matrices (assignment rows, capacity rows in units of capacity, as
  ``edgeopt.bench.orlib.direct_highs`` builds them) passed to ``highspy`` with HiGHS's
  defaults except ``threads=1``, ``mip_rel_gap=1e-6`` (edgeopt's gap) and the time limit;
  the time is ``Highs.run()``.

Prints one JSON line per run and a summary (medians; ratio = Σ median ours / Σ median direct).
Run from the checkout: ``.venv/bin/python reports/highs/orlib_ratio.py --reps 3``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

DIRECT = r"""
import json, sys, time
import numpy as np, scipy.sparse as sp, highspy
from edgeopt.core.io import load_problem
p = load_problem(sys.argv[1])
n, n_items = p.n_columns, p.n_items
assign = sp.csc_array((np.ones(n), (p.col_item, np.arange(n))), shape=(n_items, n))
used = np.flatnonzero(np.diff(p.use_csr.indptr))
scaled = sp.diags_array(1.0 / p.capacity[used]) @ p.use_csr[used]
a = sp.csc_array(sp.vstack([assign, scaled]).tocsc()); a.sort_indices()
h = highspy.Highs()
h.setOptionValue("output_flag", False)
h.setOptionValue("threads", 1)
h.setOptionValue("mip_rel_gap", 1e-6)
h.setOptionValue("time_limit", float(sys.argv[2]))
lp = highspy.HighsLp()
lp.num_col_, lp.num_row_ = n, n_items + used.size
lp.col_cost_ = np.asarray(p.col_cost, dtype=np.float64)
lp.col_lower_, lp.col_upper_ = np.zeros(n), np.ones(n)
lp.row_lower_ = np.r_[np.ones(n_items), np.full(used.size, -np.inf)]
lp.row_upper_ = np.ones(n_items + used.size)
lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
lp.integrality_ = [highspy.HighsVarType.kInteger] * n
h.passModel(lp)
t0 = time.perf_counter(); h.run(); s = time.perf_counter() - t0
info = h.getInfo()
print(json.dumps({"status": h.modelStatusToString(h.getModelStatus()),
                  "objective": info.objective_function_value, "s": s,
                  "nodes": info.mip_node_count}))
"""

WITH_GUARD = Path(__file__).resolve().parent / "with_guard.py"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=["gapb-4", "gapc-4"])
    ap.add_argument("--orlib-dir", default="../shared/data/orlib-gap")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--guard", choices=["auto", "always", "never"], default="auto")
    ap.add_argument("--warm-start", default=None, help="passed to edgeopt solve (default: its own)")
    ap.add_argument("--skip-direct", action="store_true")
    a = ap.parse_args()
    from edgeopt.core.io import save_problem
    from edgeopt.core.orlib import read_gap_file

    py = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="orlib-ratio-"))
    files = {}
    for name in a.problems:
        stem = name.split("-")[0]
        for p in read_gap_file(Path(a.orlib_dir) / f"{stem}.txt"):
            if p.name == name:
                files[name] = save_problem(p, tmp / f"{name}.json")
    ours: dict[str, list[float]] = {n: [] for n in files}
    direct: dict[str, list[float]] = {n: [] for n in files}
    for rep in range(a.reps):
        for name, f in files.items():
            sol = tmp / f"{name}-{rep}.sol.json"
            cmd = [py, str(WITH_GUARD), a.guard, "solve", str(f), "--solver", "milp"]
            cmd += ["--threads", "1", "--time-limit", str(a.time_limit), "--out", str(sol)]
            if a.warm_start is not None:
                cmd += ["--warm-start", a.warm_start]
            subprocess.run(cmd, check=True, capture_output=True)
            s = json.loads(sol.read_text())
            st = s.get("stats", {})
            ours[name].append(float(s["wall_s"]))
            print(
                json.dumps(
                    {
                        "side": "ours",
                        "guard": a.guard,
                        "warm_start": a.warm_start,
                        "problem": name,
                        "rep": rep,
                        "status": s.get("status"),
                        "wall_s": s["wall_s"],
                        "solve_s": st.get("solve_s"),
                        "warm_start_s": st.get("warm_start_s"),
                        "nodes": st.get("nodes"),
                        "dense_row_guard": st.get("dense_row_guard"),
                    }
                ),
                flush=True,
            )
            if a.skip_direct:
                continue
            out = subprocess.run(
                [py, "-c", DIRECT, str(f), str(a.time_limit)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            d = json.loads(out.strip().splitlines()[-1])
            direct[name].append(d["s"])
            print(json.dumps({"side": "direct", "problem": name, "rep": rep, **d}), flush=True)
    med_o = {n: statistics.median(v) for n, v in ours.items()}
    summary = {"guard": a.guard, "warm_start": a.warm_start, "ours_median_s": med_o}
    if not a.skip_direct:
        med_d = {n: statistics.median(v) for n, v in direct.items()}
        summary["direct_median_s"] = med_d
        summary["ratio"] = round(sum(med_o.values()) / sum(med_d.values()), 3)
    print(json.dumps({"summary": summary}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
