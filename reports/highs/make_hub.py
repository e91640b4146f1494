"""Write the hub scenarios of ``edgeopt bench symmetry`` as scenario files:
``make_hub.py OUT_DIR [CxR-sSEED ...]`` (default: c8x45-s1, the one whose sub-MIP presolve
stalled). Every request starts at one hub controller; the others are interchangeable."""

import json
import sys
from pathlib import Path

from edgeopt.bench.symmetry import symmetric_scenario
from edgeopt.scenario.model import scenario_to_dict

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
for spec in sys.argv[2:] or ["8x45-s1"]:
    size, seed = spec.split("-s")
    c, r = (int(x) for x in size.split("x"))
    d = scenario_to_dict(symmetric_scenario(int(seed), c, r))
    path = out / f"{d['name']}.json"
    path.write_text(json.dumps(d))
    print(path)
