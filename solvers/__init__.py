"""Solver artefacts: the trained DRL checkpoints (``drl/default``) and their caches
(``drl/teacher``: the MILP-optimal teacher plans).

Data, not code: the wheel ships this folder as ``edgeopt.artefacts`` (pyproject.toml's
package-dir); this file makes it a regular package, so ``importlib.resources`` hands out plain
paths in an editable install too. Read it with :func:`edgeopt.data.artefact_path`.
"""
