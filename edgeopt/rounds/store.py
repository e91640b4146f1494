"""Simulation results in the SQLite results database (the file batch runs write): one
``rounds_runs`` row per policy run or hindsight reference, one ``rounds`` row per round of it.

The tables sit beside ``results`` (which ``compare`` and ``report`` read) and follow its rules:
keyed by (rounds file sha256, label, settings hash), each run committed as soon as it is known,
an existing row never replaced.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

from edgeopt.batch.store import Store, _damaged, settings_hash
from edgeopt.errors import InputError
from edgeopt.jsonio import printable

__all__ = ["RUN_COLUMNS", "ROUND_COLUMNS", "RoundsStore", "read_runs"]

RUN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("instance_sha256", "TEXT NOT NULL"),
    ("instance_path", "TEXT"),
    ("instance_name", "TEXT"),
    ("label", "TEXT NOT NULL"),  # policy[solver] or a reference (horizon-optimum, round-optimum)
    ("kind", "TEXT NOT NULL"),  # policy | reference
    ("settings", "TEXT NOT NULL"),  # JSON
    ("settings_hash", "TEXT NOT NULL"),
    ("status", "TEXT NOT NULL"),  # complete | stopped (a round without a plan) | optimal | ...
    ("n_rounds", "INTEGER"),
    ("objective", "REAL"),  # Σ_t Z_t (None: no complete plan)
    ("bound", "REAL"),  # proven lower bound on the horizon optimum (references)
    ("totals", "TEXT"),  # JSON: migrations, traffic, planning time ...
    ("edgeopt_version", "TEXT"),
)
ROUND_COLUMNS: tuple[tuple[str, str], ...] = (
    ("instance_sha256", "TEXT NOT NULL"),
    ("label", "TEXT NOT NULL"),
    ("settings_hash", "TEXT NOT NULL"),
    ("round", "INTEGER NOT NULL"),
    ("seed", "INTEGER"),
    ("status", "TEXT"),
    ("objective", "REAL"),
    ("bound", "REAL"),
    ("terms", "TEXT"),  # JSON
    ("migrations", "INTEGER"),
    ("migration_mb", "REAL"),
    ("migration_gb_links", "REAL"),
    ("data_mb_links", "REAL"),
    ("items", "INTEGER"),
    ("kept", "INTEGER"),
    ("arrived", "INTEGER"),
    ("departed", "INTEGER"),
    ("columns", "INTEGER"),
    ("max_load_share", "REAL"),
    ("compile_s", "REAL"),
    ("carry_s", "REAL"),
    ("plan_s", "REAL"),
    ("plan_cpu_s", "REAL"),
    ("message", "TEXT"),
)
_RUNS = (
    "CREATE TABLE IF NOT EXISTS rounds_runs (\n"
    + ",\n".join(f"  {c} {t}" for c, t in RUN_COLUMNS)
    + ",\n  PRIMARY KEY (instance_sha256, label, settings_hash)\n)"
)
_ROUNDS = (
    "CREATE TABLE IF NOT EXISTS rounds (\n"
    + ",\n".join(f"  {c} {t}" for c, t in ROUND_COLUMNS)
    + ",\n  PRIMARY KEY (instance_sha256, label, settings_hash, round)\n)"
)
_JSON = ("settings", "totals", "terms")


class RoundsStore:
    """Writer of simulation runs into a results database (created like a batch's if absent)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = str(path)
        self.store = Store(path)  # the results schema, WAL, and the newer-schema refusal
        self.con = self.store.con

        def create() -> None:
            self.con.execute(_RUNS)
            self.con.execute(_ROUNDS)
            self.con.commit()

        self._guard(create)

    def _guard(self, fn: Any) -> Any:
        try:
            return fn()
        except sqlite3.Error as exc:
            self.con.rollback()
            raise _damaged(self.path, exc) from None

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> RoundsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has(self, sha256: str, label: str, settings: dict[str, Any]) -> bool:
        key = (sha256, label, settings_hash(settings))
        return bool(
            self._guard(
                lambda: self.con.execute(
                    "SELECT 1 FROM rounds_runs WHERE instance_sha256 = ? AND label = ? AND "
                    "settings_hash = ?",
                    key,
                ).fetchone()
            )
        )

    def add(self, run: dict[str, Any], rounds: list[dict[str, Any]]) -> bool:
        """Insert a run and its rounds in one transaction; False when the run is already stored."""
        run = {**run, "settings_hash": settings_hash(run["settings"])}
        names = [c for c, _ in RUN_COLUMNS]
        rnames = [c for c, _ in ROUND_COLUMNS]

        def cell(c: str, v: Any) -> Any:
            return json.dumps(v, allow_nan=False) if c in _JSON and v is not None else v

        def q() -> bool:
            cur = self.con.execute(
                f"INSERT INTO rounds_runs ({', '.join(names)}) VALUES "
                f"({', '.join('?' for _ in names)}) ON CONFLICT DO NOTHING",
                [cell(c, run.get(c)) for c in names],
            )
            if cur.rowcount != 1:
                self.con.rollback()
                return False
            for r in rounds:
                full = {
                    **r,
                    "instance_sha256": run["instance_sha256"],
                    "label": run["label"],
                    "settings_hash": run["settings_hash"],
                }
                self.con.execute(
                    f"INSERT INTO rounds ({', '.join(rnames)}) VALUES "
                    f"({', '.join('?' for _ in rnames)})",
                    [cell(c, full.get(c)) for c in rnames],
                )
            self.con.commit()
            return True

        return bool(self._guard(q))


def read_runs(
    path: str | os.PathLike[str], sha256: str | None = None
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Every stored run (of one rounds file when ``sha256`` is given) with its rounds, in order."""
    if not os.path.isfile(path):
        raise InputError("results database not found", source=printable(str(path)))
    try:
        con = sqlite3.connect(str(path), timeout=30.0)
    except sqlite3.Error as exc:
        raise _damaged(path, exc) from None
    try:
        con.row_factory = sqlite3.Row
        where, args = ("WHERE instance_sha256 = ?", (sha256,)) if sha256 else ("", ())
        runs = [
            dict(r) for r in con.execute(f"SELECT * FROM rounds_runs {where} ORDER BY rowid", args)
        ]
        out = []
        for run in runs:
            rows = [
                dict(r)
                for r in con.execute(
                    "SELECT * FROM rounds WHERE instance_sha256 = ? AND label = ? AND "
                    "settings_hash = ? ORDER BY round",
                    (run["instance_sha256"], run["label"], run["settings_hash"]),
                )
            ]
            for d in [run, *rows]:
                for c in _JSON:
                    if isinstance(d.get(c), str):
                        try:
                            d[c] = json.loads(d[c])
                        except ValueError:
                            raise InputError(
                                f"table rounds, column '{c}': malformed JSON",
                                source=printable(str(path)),
                            ) from None
            out.append((run, rows))
        return out
    except sqlite3.Error as exc:
        raise _damaged(path, exc) from None
    finally:
        con.close()
