"""The name → solver registry, and the shared work every solve goes through once.

A solver module registers its algorithm::

    @register("greedy", "regret greedy ...")
    def greedy(problem, *, seed, time_limit_s, penalties=(0.0, 0.01)) -> Outcome: ...

and :func:`get_solver` hands out ``solve(problem, *, seed, time_limit_s,
**options) -> SolveResult`` that: checks each option against the algorithm's
signature (one clean error naming an unknown or ill-typed option), records the
settings with their defaults, returns ``infeasible`` at once when an item has no
admissible column, times the call, and hands the outcome to the referee
(:func:`edgeopt.core.referee.referee`: a solver whose own objective disagrees
raises :class:`SolverError`; ``optimal`` stands only when the proven bound meets
the objective, docs/model.md §7 — otherwise ``feasible``).
"""

from __future__ import annotations

import inspect
import json
import math
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeopt.core.problem import Problem
from edgeopt.core.referee import referee
from edgeopt.core.result import Interrupted, Outcome, SolveResult
from edgeopt.errors import InputError
from edgeopt.jsonio import jsonable

__all__ = [
    "register",
    "register_composite",
    "get_solver",
    "check_solver_options",
    "solver_names",
    "solver_descriptions",
    "parse_options",
    "Deadline",
    "chain",
    "passed_on",
]

Algorithm = Callable[..., Outcome]
#: Options every solver takes as keywords of their own (never through ``**options``).
RESERVED = ("seed", "time_limit_s")


@dataclass(frozen=True)
class Deadline:
    """A wall-clock deadline from a start time and an optional limit (None: no limit)."""

    start: float
    limit_s: float | None

    @classmethod
    def after(cls, limit_s: float | None) -> Deadline:
        return cls(time.perf_counter(), limit_s)

    def left(self) -> float:
        """Seconds left (inf without a limit, never negative)."""
        if self.limit_s is None:
            return math.inf
        return max(self.limit_s - (time.perf_counter() - self.start), 0.0)

    def passed(self) -> bool:
        return self.left() <= 0.0

    def share(self, fraction: float, cap_s: float = math.inf) -> float | None:
        """``fraction`` of the time left, at most ``cap_s`` (None without a limit and cap)."""
        left = self.left()
        if math.isinf(left):
            return None if math.isinf(cap_s) else cap_s
        return min(left * fraction, cap_s)


@dataclass(frozen=True)
class _Entry:
    name: str
    algorithm: Algorithm
    description: str
    params: dict[str, inspect.Parameter]
    hints: dict[str, Any]
    #: Extra settings that identify this solver's results beyond its options (e.g. the hash of
    #: the weights a path names), from its resolved settings; None: the options suffice.
    fingerprint: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    #: ``repair(settings, deadline_end)`` → a neighbourhood repair for ``X+lns`` that builds on
    #: this solver's way of constructing (its settings as resolved for the base run); None: none.
    repair: Callable[[dict[str, Any], float | None], Any] | None = None


_REGISTRY: dict[str, _Entry] = {}
_COMPOSITES: dict[str, Callable[[str], tuple[Algorithm, str]]] = {}


def _entry(
    name: str,
    fn: Algorithm,
    description: str,
    fingerprint: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    repair: Callable[[dict[str, Any], float | None], Any] | None = None,
) -> _Entry:
    sig = inspect.signature(fn)
    params = {
        k: p
        for k, p in sig.parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and k not in RESERVED
    }
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # pragma: no cover - unresolvable annotations: fall back to defaults
        hints = {}
    doc = description or (fn.__doc__ or "").strip().splitlines()[0]
    return _Entry(name, fn, doc, params, hints, fingerprint, repair)


def register(
    name: str,
    description: str = "",
    *,
    fingerprint: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    repair: Callable[[dict[str, Any], float | None], Any] | None = None,
) -> Callable[[Algorithm], Algorithm]:
    """Decorator: make algorithm ``fn`` available as solver ``name``. Hooks:
    ``fingerprint(settings)`` gives extra keys that identify its results beyond its settings
    (see :func:`fingerprint`); ``repair(settings, deadline_end)`` gives the neighbourhood repair
    ``name+lns`` uses (see :func:`repair_of`)."""

    def deco(fn: Algorithm) -> Algorithm:
        _REGISTRY[name] = _entry(name, fn, description, fingerprint, repair)
        return fn

    return deco


def register_composite(suffix: str, factory: Callable[[str], tuple[Algorithm, str]]) -> None:
    """Names ``X<suffix>`` resolve to ``factory(X)`` = (algorithm, description) for any registered X."""
    _COMPOSITES[suffix] = factory


def chain(
    base_name: str,
    then: Callable[[Problem, SolveResult, int | None, Deadline], Outcome],
    description: str,
    *,
    base_share: float = 1.0,
) -> tuple[Algorithm, str]:
    """A composite's algorithm: run ``base_name`` with ``base_share`` of the time, then
    ``then(problem, base_result, seed, deadline)`` with the rest; options go to the base."""

    def solve(
        problem: Problem,
        *,
        seed: int | None = None,
        time_limit_s: float | None = None,
        **options: Any,
    ) -> Outcome:
        deadline = Deadline.after(time_limit_s)
        base = get_solver(base_name)(
            problem, seed=seed, time_limit_s=deadline.share(base_share), **options
        )
        return then(problem, base, seed, deadline)

    return solve, description


def passed_on(base: SolveResult, what: str) -> Outcome:
    """The outcome of a composite whose base found no plan: its proof or limit passes on."""
    return Outcome(
        None,
        base.status if base.status in ("infeasible", "time_limit") else "error",
        stats=dict(base.stats),
        message=base.message or f"no feasible plan to {what}",
    )


def solver_names() -> list[str]:
    """Names of every registered solver."""
    return sorted(_REGISTRY)


def solver_descriptions() -> dict[str, str]:
    return {k: _REGISTRY[k].description for k in sorted(_REGISTRY)}


def _lookup(name: str) -> _Entry:
    if name in _REGISTRY:
        return _REGISTRY[name]
    for suffix, factory in _COMPOSITES.items():
        base = name[: -len(suffix)]
        if name.endswith(suffix) and base in _REGISTRY:
            fn, description = factory(base)
            return _entry(name, fn, description, _REGISTRY[base].fingerprint)
    raise InputError(
        f"unknown solver {name!r} (known: {', '.join(sorted(_REGISTRY))}; any of them + '+ls' or '+lns')",
        field="solver",
    )


def fingerprint(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """What identifies solver ``name``'s results beyond its resolved ``settings`` (a composite:
    its base's), e.g. ``{"checkpoint_sha256": ...}`` for the learned planner; ``{}`` for most."""
    entry = _lookup(name)
    return dict(entry.fingerprint(settings)) if entry.fingerprint else {}


def repair_of(name: str) -> Callable[[dict[str, Any], float | None], Any] | None:
    """Solver ``name``'s neighbourhood-repair hook for ``name+lns`` (None for most)."""
    return _lookup(name).repair


def solver_options(name: str) -> dict[str, Any]:
    """The options solver ``name`` takes, with their defaults."""
    e = _lookup(name)
    return {k: p.default for k, p in e.params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}


def check_solver_options(name: str, options: dict[str, Any]) -> None:
    """Refuse at once (one :class:`InputError`) an option solver ``name`` does not take, or a value
    out of range, before anything is loaded or solved; a composite's options go to its base."""
    entry = _lookup(name)
    checked, _ = _check(entry, None, None, options)
    rest = {k: v for k, v in checked.items() if k not in entry.params}
    for suffix in _COMPOSITES if rest else ():
        if name.endswith(suffix) and name[: -len(suffix)] in _REGISTRY:
            check_solver_options(name[: -len(suffix)], rest)
            return


def get_solver(name: str) -> Callable[..., SolveResult]:
    """``solve(problem, *, seed=None, time_limit_s=None, **options) -> SolveResult`` for ``name``."""
    entry = _lookup(name)

    def solve(
        problem: Problem,
        *,
        seed: int | None = None,
        time_limit_s: float | None = None,
        **options: Any,
    ) -> SolveResult:
        return _run(entry, problem, seed=seed, time_limit_s=time_limit_s, options=options)

    solve.__name__ = name
    solve.__doc__ = entry.algorithm.__doc__
    return solve


# ------------------------------------------------------------------ option checks
def _check_value(solver: str, key: str, value: Any, hint: Any, default: Any) -> Any:
    """``value`` if it fits the option's type, else one clean :class:`InputError`."""
    allowed = _allowed_types(hint, default)
    if allowed is None:
        return value
    if value is None and type(None) in allowed:
        return value
    if isinstance(value, bool):
        ok = bool in allowed
    elif isinstance(value, int):
        ok = int in allowed or float in allowed
        if ok and int not in allowed:
            value = float(value)
    elif isinstance(value, float):
        ok = float in allowed
        if ok and not math.isfinite(value):
            raise InputError(f"{solver}: option {key!r} must be finite, got {value!r}", field=key)
    elif isinstance(value, (list, tuple)):
        ok = tuple in allowed or list in allowed
        if ok:
            value = tuple(value)
    else:
        ok = any(isinstance(value, t) for t in allowed if t is not type(None))
    if not ok:
        names = sorted({getattr(t, "__name__", str(t)) for t in allowed})
        raise InputError(
            f"{solver}: option {key!r} takes {' or '.join(names)}, got {value!r}", field=key
        )
    return value


def _allowed_types(hint: Any, default: Any) -> set[Any] | None:
    if hint is None or hint is Any:
        if default is None or default is inspect.Parameter.empty:
            return None
        return {type(default)}
    origin = typing.get_origin(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        out: set[Any] = set()
        for h in typing.get_args(hint):
            sub = _allowed_types(h, inspect.Parameter.empty)
            if sub is None:
                return None
            out |= sub
        return out
    if origin is not None:
        return {origin}
    if isinstance(hint, type):
        return {hint}
    return None


def _check(
    entry: _Entry, seed: Any, time_limit_s: Any, options: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(checked options to pass on, settings to record with every default filled in)."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise InputError(f"seed must be an integer, got {seed!r}", field="seed")
    if time_limit_s is not None:
        if isinstance(time_limit_s, bool) or not isinstance(time_limit_s, (int, float)):
            raise InputError(
                f"time limit must be a number, got {time_limit_s!r}", field="time_limit_s"
            )
        if not math.isfinite(time_limit_s) or time_limit_s <= 0:
            raise InputError(
                f"time limit must be a positive finite number of seconds, got {time_limit_s!r}",
                field="time_limit_s",
            )
    passes_on = any(
        p.kind is inspect.Parameter.VAR_KEYWORD
        for p in inspect.signature(entry.algorithm).parameters.values()
    )
    checked: dict[str, Any] = {}
    for key, value in options.items():
        if key in entry.params:
            p = entry.params[key]
            checked[key] = _check_value(entry.name, key, value, entry.hints.get(key), p.default)
            if key in OPTION_RANGES and checked[key] is not None:
                OPTION_RANGES[key].check(checked[key], f"{entry.name}: option {key!r}")
        elif passes_on:  # a composite hands the rest to its base solver, which checks them
            checked[key] = value
        else:
            known = ", ".join(sorted(entry.params)) or "none"
            raise InputError(f"{entry.name}: unknown option {key!r} (options: {known})", field=key)
    settings: dict[str, Any] = {
        "seed": None if seed is None else int(seed),
        "time_limit_s": None if time_limit_s is None else float(time_limit_s),
    }
    for key, p in entry.params.items():
        settings[key] = jsonable(checked.get(key, p.default), array="assignment")
    for key, value in checked.items():
        settings.setdefault(key, jsonable(value, array="assignment"))
    return checked, settings


def _option_ranges() -> dict[str, Any]:
    from edgeopt.argcheck import MIP_GAP, THREADS, TIME_LIMIT_S, Range

    def count(lo: int, hi: int = 10**9) -> Range:
        return Range(lo, hi, integer=True)

    return {
        "threads": THREADS,
        "mip_gap": MIP_GAP,
        "per_item": count(1),
        "max_rounds": count(1),
        "size": count(1),
        "attempts": count(1, 10**6),
        "samples": count(0, 10**6),
        "max_mip_columns": count(1, 10**12),
        "dw_max_columns": count(1, 10**12),
        "one_pass_above": count(0, 10**12),
        "sub_time_s": TIME_LIMIT_S,
        "budget_s": TIME_LIMIT_S,
    }


#: Allowed values of numeric options, by name, whichever solver takes them: ``--threads`` and
#: ``--set threads=`` go through the same check (at most the machine's cores).
OPTION_RANGES = _option_ranges()


# ------------------------------------------------------------------ the shared run
def _run(
    entry: _Entry,
    problem: Problem,
    *,
    seed: int | None,
    time_limit_s: float | None,
    options: dict[str, Any],
) -> SolveResult:
    started = time.perf_counter()
    checked, settings = _check(entry, seed, time_limit_s, options)
    empty = problem.empty_items
    if empty:
        names = ", ".join(empty[:5]) + (f" (+{len(empty) - 5} more)" if len(empty) > 5 else "")
        return SolveResult(
            entry.name,
            "infeasible",
            None,
            None,
            wall_s=time.perf_counter() - started,
            settings=settings,
            message=f"no admissible column for item(s): {names}",
        )
    try:
        out = entry.algorithm(problem, seed=seed, time_limit_s=time_limit_s, **checked)
    except Interrupted as exc:  # Ctrl-C: the plan so far is refereed too, then passed up
        if isinstance(exc.partial, Outcome):
            exc.partial = _refereed(problem, entry.name, exc.partial, started, settings)
        raise
    return _refereed(problem, entry.name, out, started, settings)


def _refereed(
    problem: Problem, solver: str, out: Outcome, started: float, settings: dict[str, Any]
) -> SolveResult:
    """The core referee's verdict, timed from ``started`` to after the evaluation."""
    res = referee(problem, solver, out, settings=settings)
    res.wall_s = time.perf_counter() - started
    return res


def parse_options(items: list[str]) -> dict[str, dict[str, Any]]:
    """``KEY=VALUE`` (every solver) or ``SOLVER.KEY=VALUE`` (one solver) → ``{"*": {...}, SOLVER: {...}}``.

    Values are read as JSON when they parse (numbers, true/false, null), else kept as text.

    >>> parse_options(["milp.mip_gap=1e-4", "threads=1"])
    {'milp': {'mip_gap': 0.0001}, '*': {'threads': 1}}
    """
    out: dict[str, dict[str, Any]] = {}
    for it in items:
        key, eq, val = it.partition("=")
        if not eq or not key:
            raise InputError(f"expected KEY=VALUE or SOLVER.KEY=VALUE, got {it!r}", field="set")
        solver, dot, name = key.rpartition(".")
        if not dot:
            solver = "*"
        if not name:
            raise InputError(f"empty option name in {it!r}", field="set")
        name = name.replace("-", "_")
        if name in RESERVED:
            flag = {"seed": "--seed", "time_limit_s": "--time-limit"}[name]
            raise InputError(f"{name!r} is not a solver option; give it with {flag}", field="set")
        try:
            value = json.loads(val, parse_constant=lambda c: c)
        except json.JSONDecodeError:
            value = val
        out.setdefault(solver, {})[name] = value
    return out
