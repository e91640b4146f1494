"""The narrow HiGHS guard: sub-MIP heuristics and restarts go off only on models with a dense
row (the hub-link shape on which HiGHS's sub-MIP presolve stalled), and stay on elsewhere."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from edgeopt.solvers.highs import DENSE_MIN, HighsOptions, configure, has_dense_row, new_highs


def _gap_matrix(m: int, n: int) -> sp.csc_array:
    """Assignment rows (n) and one capacity row per agent (m), job-major columns."""
    cols = np.arange(n * m)
    assign = sp.csc_array((np.ones(n * m), (cols // m, cols)), shape=(n, n * m))
    cap = sp.csc_array((np.ones(n * m), (cols % m, cols)), shape=(m, n * m))
    return sp.csc_array(sp.vstack([assign, cap]))


def test_a_gap_model_has_no_dense_row():
    # each capacity row holds 1/80 of the columns: 1600 of 128000
    a = _gap_matrix(80, 1600)
    assert not has_dense_row(a, a.shape[0])


def test_a_hub_link_row_used_by_every_column_is_dense():
    a = _gap_matrix(10, 400)  # 4000 columns
    hub = sp.csc_array(np.ones((1, a.shape[1])))
    b = sp.csc_array(sp.vstack([a, hub]))
    assert has_dense_row(b, b.shape[0])


def test_small_models_are_never_dense():
    # a row with every column, but fewer than DENSE_MIN columns in all
    a = sp.csc_array(np.ones((2, DENSE_MIN - 1)))
    assert not has_dense_row(a, 2)


def _opt(h, name):
    value = h.getOptionValue(name)
    return value[1] if isinstance(value, tuple) else value  # (status, value) in some highspy


def test_heuristics_stay_on_unless_the_model_is_dense():
    h = new_highs()
    configure(h, HighsOptions())
    assert _opt(h, "mip_heuristic_run_rins") is True
    assert _opt(h, "mip_allow_restart") is True
    h = new_highs()
    configure(h, HighsOptions(guarded=True), dense=True)
    assert _opt(h, "mip_heuristic_run_rins") is False
    assert _opt(h, "mip_allow_restart") is False
    assert _opt(h, "presolve") == "off"
