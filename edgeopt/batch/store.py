"""The results store: one SQLite row per (instance sha256, solver, settings hash).

Only the batch's parent process writes; each row is committed as soon as it is
known (WAL journal), so a killed batch loses nothing already stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edgeopt.errors import InputError

__all__ = ["COLUMNS", "JSON_COLUMNS", "Store", "settings_hash", "read_rows"]

#: Columns of the ``results`` table, in order, with their SQL types.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("instance_path", "TEXT"),
    ("instance_name", "TEXT"),
    ("instance_sha256", "TEXT NOT NULL"),
    ("kind", "TEXT"),  # scenario | problem | NULL when the file could not be read
    ("n_items", "INTEGER"),
    ("n_columns", "INTEGER"),
    ("n_bins", "INTEGER"),
    ("sense", "TEXT"),
    ("solver", "TEXT NOT NULL"),
    ("settings", "TEXT NOT NULL"),  # the requested settings (seed, time limit, options), JSON
    ("settings_hash", "TEXT NOT NULL"),
    ("status", "TEXT NOT NULL"),
    ("objective", "REAL"),  # source sense
    ("objective_internal", "REAL"),  # minimisation sense
    ("bound", "REAL"),  # source sense
    ("bound_internal", "REAL"),
    ("wall_s", "REAL"),
    ("terms", "TEXT"),  # weighted objective terms, source sense, JSON
    ("utilisation", "TEXT"),  # balanced resource -> {"load", "capacity"}, JSON
    ("solution", "TEXT"),  # the edgeopt-solution/1 dict, JSON
    ("error", "TEXT"),  # one-line message (status error), or the solver's note
    ("started_at", "TEXT"),
    ("finished_at", "TEXT"),
    ("edgeopt_version", "TEXT"),
)
JSON_COLUMNS = ("settings", "terms", "utilisation", "solution")
_NAMES = tuple(c for c, _ in COLUMNS)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS results (\n  id INTEGER PRIMARY KEY,\n"
    + ",\n".join(f"  {c} {t}" for c, t in COLUMNS)
    + ",\n  UNIQUE (instance_sha256, solver, settings_hash)\n)"
)


def settings_hash(settings: dict[str, Any]) -> str:
    """A short stable hash of a settings dict (key order does not matter)."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _connect(path: str | os.PathLike[str], *, create: bool) -> sqlite3.Connection:
    p = Path(path)
    if not create and not p.is_file():
        raise InputError("results database not found", source=str(p))
    if create:
        p.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = sqlite3.connect(str(p), timeout=30.0)
        # WAL: readers never block the writer and a crash mid-write leaves the
        # last committed row intact.
        if create:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(_SCHEMA)
            con.commit()
        else:
            con.execute("SELECT 1 FROM results LIMIT 1")
    except sqlite3.DatabaseError as exc:
        raise InputError(f"not an edgeopt results database ({exc})", source=str(p)) from None
    return con


class Store:
    """Writer side of the results database (use from one process only)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = str(path)
        self.con = _connect(path, create=True)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def done_keys(self) -> set[tuple[str, str, str]]:
        """Keys (sha256, solver, settings hash) of every stored row."""
        cur = self.con.execute("SELECT instance_sha256, solver, settings_hash FROM results")
        return {tuple(r) for r in cur}  # type: ignore[misc]

    def delete_errors(self) -> int:
        """Remove error rows (so the next batch retries them); returns how many."""
        cur = self.con.execute("DELETE FROM results WHERE status = 'error'")
        self.con.commit()
        return cur.rowcount

    def add(self, row: dict[str, Any]) -> None:
        """Insert one row and commit it (a row with the same key is replaced)."""
        unknown = set(row) - set(_NAMES)
        if unknown:
            raise ValueError(f"unknown result columns: {sorted(unknown)}")
        vals = []
        for c in _NAMES:
            v = row.get(c)
            if c in JSON_COLUMNS and v is not None:
                v = json.dumps(v, allow_nan=False)
            vals.append(v)
        marks = ", ".join("?" for _ in _NAMES)
        self.con.execute(f"INSERT OR REPLACE INTO results ({', '.join(_NAMES)}) VALUES ({marks})", vals)
        self.con.commit()


@contextmanager
def _reader(path: str | os.PathLike[str]) -> Iterator[sqlite3.Connection]:
    con = _connect(path, create=False)
    try:
        yield con
    finally:
        con.close()


def read_rows(path: str | os.PathLike[str], *, with_solution: bool = False) -> list[dict[str, Any]]:
    """Every row of the database as a dict, JSON columns decoded (``solution`` only on request)."""
    names: Iterable[str] = [c for c in _NAMES if with_solution or c != "solution"]
    with _reader(path) as con:
        cur = con.execute(f"SELECT id, {', '.join(names)} FROM results ORDER BY id")
        cols = [d[0] for d in cur.description]
        out = []
        for rec in cur:
            row = dict(zip(cols, rec))
            for c in JSON_COLUMNS:
                if row.get(c) is not None:
                    row[c] = json.loads(row[c])
            out.append(row)
    return out
