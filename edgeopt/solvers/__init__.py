"""The solvers: one module per algorithm, each registering itself in :mod:`.registry`.

Importing this package imports every built-in solver module, so the registry knows
them all by the time anything asks it for one by name; heavy dependencies (Pyomo,
TensorFlow) stay lazy inside the modules.
"""

from edgeopt.solvers import (  # noqa: F401  (imported to register)
    baselines,
    cg,
    drl,
    dw,
    heuristics,
    lns,
    local_search,
    milp,
    pns,
    portfolio,
)
