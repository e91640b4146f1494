"""The two gaps edgeopt reports, with distinct names (docs/model.md §7).

:func:`proof_gap` is a solver's optimality gap: how far its own proven bound
leaves its plan from a proof. :func:`gap_to_reference` is the comparison's gap:
how far a plan is from the best reference Z* known for the instance (another
solver's optimum, a bound, or the best plan found).
"""

from __future__ import annotations

import math

from edgeopt.core.tolerances import GAP_ROUNDING, ZERO_OBJECTIVE

__all__ = ["proof_gap", "gap_to_reference"]


def proof_gap(objective: float | None, bound: float | None) -> float | None:
    """(Z − bound) / max(|Z|, 1): the gap a proven lower bound leaves; None if either is missing.

    Parameters
    ----------
    objective
        Z of the plan, internal (minimisation) sense.
    bound
        A proven lower bound on Z.

    Examples
    --------
    >>> proof_gap(10.0, 9.0)
    0.1
    >>> proof_gap(0.5, 0.25)  # |Z| < 1: the gap is absolute
    0.25
    >>> proof_gap(-10.0, -11.0)
    0.1
    >>> proof_gap(3.0, None) is None
    True
    """
    if objective is None or bound is None:
        return None
    return (objective - bound) / max(abs(objective), 1.0)


def gap_to_reference(z: float, z_ref: float) -> float:
    """(z − z_ref) / |z_ref|: how far a plan is from the reference Z*.

    A rounding-level negative gap (above ``-GAP_ROUNDING``) is 0; a zero
    reference gives 0 for a zero Z and inf otherwise.

    Examples
    --------
    >>> gap_to_reference(1.1, 1.0), gap_to_reference(-9.0, -10.0), gap_to_reference(0.0, 0.0)
    (0.10000000000000009, 0.1, 0.0)
    >>> gap_to_reference(0.5, 0.25)  # no floor at 1, unlike proof_gap
    1.0
    >>> gap_to_reference(1.0 - 1e-13, 1.0), gap_to_reference(1.0, 0.0)
    (0.0, inf)
    """
    if z_ref == 0.0:
        return 0.0 if abs(z) <= ZERO_OBJECTIVE else math.inf
    g = (z - z_ref) / abs(z_ref)
    return 0.0 if -GAP_ROUNDING < g < 0.0 else g
