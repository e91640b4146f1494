"""The results store: one SQLite row per (instance sha256, solver, settings hash).

Only a batch's parent process writes; each row is committed as soon as it is
known (WAL journal), so a killed batch loses nothing already stored. Batches
sharing one database claim each task in a transaction before running it (the
``claims`` table: owner, pid, heartbeat), so none redoes or replaces another's
rows; the claims of a batch that died are taken over by the next one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edgeopt.errors import InputError
from edgeopt.jsonio import printable

__all__ = [
    "COLUMNS",
    "JSON_COLUMNS",
    "Store",
    "settings_hash",
    "read_rows",
    "HEARTBEAT_S",
    "STALE_S",
]

#: A batch refreshes the heartbeat of its claims this often (seconds) ...
HEARTBEAT_S = 10.0
#: ... and a claim whose heartbeat is older than this is free again (a batch on another host that died).
STALE_S = 120.0

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
#: ``PRAGMA user_version`` of the results database this edgeopt writes (0: written before it was
#: set, the same schema); a batch refuses to write into a newer one.
SCHEMA_VERSION = 1
JSON_COLUMNS = ("settings", "terms", "utilisation", "solution")
_NAMES = tuple(c for c, _ in COLUMNS)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS results (\n  id INTEGER PRIMARY KEY,\n"
    + ",\n".join(f"  {c} {t}" for c, t in COLUMNS)
    + ",\n  UNIQUE (instance_sha256, solver, settings_hash)\n)"
)
_CLAIMS = """CREATE TABLE IF NOT EXISTS claims (
  instance_sha256 TEXT NOT NULL,
  solver TEXT NOT NULL,
  settings_hash TEXT NOT NULL,
  owner TEXT NOT NULL,      -- one batch run: host:pid:random
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  started TEXT NOT NULL,    -- the owner process's start time (tells a reused pid apart)
  heartbeat REAL NOT NULL,  -- unix time of the owner's last sign of life
  PRIMARY KEY (instance_sha256, solver, settings_hash)
)"""
_TEXT_COLUMNS = {c for c, t in COLUMNS if t.startswith("TEXT")} - set(JSON_COLUMNS)
_NUMBER_COLUMNS = {c for c, t in COLUMNS if t.startswith(("REAL", "INTEGER"))}
_REQUIRED = {c for c, t in COLUMNS if "NOT NULL" in t}

Key = tuple[str, str, str]


def settings_hash(settings: dict[str, Any]) -> str:
    """A short stable hash of a settings dict (key order does not matter)."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _damaged(path: str | os.PathLike[str], exc: BaseException) -> InputError:
    """One line for a database SQLite cannot read (not a database, a damaged page, locked for too long)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
        return InputError(
            f"results database stayed locked by another process ({text})",
            source=printable(str(path)),
        )
    if any(w in text for w in ("disk is full", "disk I/O error", "readonly database")):
        # the file is fine; the disk or its permissions are not
        return InputError(
            f"cannot write the results database ({text})", source=printable(str(path))
        )
    return InputError(
        f"damaged or not an edgeopt results database ({text})", source=printable(str(path))
    )


def _create_tables(con: sqlite3.Connection, attempts: int = 100, wait_s: float = 0.1) -> None:
    """WAL mode and the tables, retried while another batch creating the same database holds
    its lock: SQLite answers a journal-mode change during another's first write with "locked"
    at once, without waiting out the busy timeout (two batches started together on a new file
    failed so, rarely)."""
    for attempt in range(attempts):
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(_SCHEMA)
            con.execute(_CLAIMS)
            if int(con.execute("PRAGMA user_version").fetchone()[0]) == 0:
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            con.commit()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            con.rollback()
            time.sleep(wait_s)


def _connect(path: str | os.PathLike[str], *, create: bool) -> sqlite3.Connection:
    p = Path(path)
    src = printable(str(p))
    if not create and not p.is_file():
        raise InputError(
            "results database not found" if not p.exists() else "not a regular file", source=src
        )
    if create:
        if p.exists() and not p.is_file():
            raise InputError("exists and is not a regular file", source=src)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create its folder ({exc.strerror})", source=src) from None
    try:
        con = sqlite3.connect(str(p), timeout=30.0)
    except sqlite3.Error as exc:
        raise _damaged(p, exc) from None
    try:
        # WAL: readers never block the writer and a crash mid-write leaves the
        # last committed row intact.
        if create:
            _create_tables(con)
        have = {r[1] for r in con.execute("PRAGMA table_info(results)")}
        if not have:
            raise InputError("not an edgeopt results database (no 'results' table)", source=src)
        missing = [c for c in _NAMES if c not in have]
        if missing:
            raise InputError(
                f"not an edgeopt results database: table 'results' lacks column(s) {', '.join(missing)}",
                source=src,
            )
        if create:  # a writer: never into a schema this edgeopt does not know all of
            version = int(con.execute("PRAGMA user_version").fetchone()[0])
            unknown = sorted(have - set(_NAMES) - {"id"})
            if version > SCHEMA_VERSION or unknown:
                what = (
                    f"schema {version}"
                    if version > SCHEMA_VERSION
                    else f"column(s) {', '.join(unknown)}"
                )
                raise InputError(
                    f"written by a newer edgeopt ({what}; this one writes schema {SCHEMA_VERSION}); "
                    "refusing to write into it",
                    source=src,
                )

    except sqlite3.Error as exc:
        con.close()
        raise _damaged(p, exc) from None
    except InputError:
        con.close()
        raise
    return con


def _process_start(pid: int) -> str:
    """Start time of process ``pid`` (Linux: clock ticks since boot, from /proc), or '' if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _alive(host: str, pid: int, started: str, heartbeat: float, now: float) -> bool:
    """Whether a claim's owner may still be running: on this host, its process still exists (same
    start time); elsewhere, its heartbeat is recent."""
    if host != socket.gethostname():
        return now - heartbeat < STALE_S
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    return started == "" or _process_start(pid) in ("", started)


class Store:
    """Writer side of the results database (one per batch run; other batches may share the file)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = str(path)
        self.con = _connect(path, create=True)
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.started = _process_start(self.pid)
        self.owner = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def close(self) -> None:
        """Release this run's unfinished claims and close."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5.0)
        try:
            self.con.execute("DELETE FROM claims WHERE owner = ?", (self.owner,))
            self.con.commit()
        except sqlite3.Error:
            pass  # a damaged or locked file: the claims go stale on their own
        self.con.close()

    def _guard(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except sqlite3.Error as exc:
            try:
                self.con.rollback()
            except sqlite3.Error:
                pass
            raise _damaged(self.path, exc) from None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def done_keys(self) -> set[Key]:
        """Keys (sha256, solver, settings hash) of every stored row."""

        def q() -> set[Key]:
            cur = self.con.execute("SELECT instance_sha256, solver, settings_hash FROM results")
            return {(r[0], r[1], r[2]) for r in cur}

        return self._guard(q)

    def delete_errors(self) -> int:
        """Remove error rows (so the next batch retries them); returns how many."""

        def q() -> int:
            cur = self.con.execute("DELETE FROM results WHERE status = 'error'")
            self.con.commit()
            return cur.rowcount

        return self._guard(q)

    # ------------------------------------------------------------ claims
    def claim(self, keys: Sequence[Key]) -> set[Key]:
        """Claim the tasks ``keys`` for this run, in one transaction; returns those claimed.

        A task is skipped when its row is stored or another live batch holds it;
        a claim whose owner died is taken over.
        """

        def q() -> set[Key]:
            now = time.time()
            got: set[Key] = set()
            self.con.execute("BEGIN IMMEDIATE")  # the write lock: no other batch claims in between
            for key in keys:
                if self.con.execute(
                    "SELECT 1 FROM results WHERE instance_sha256 = ? AND solver = ? AND "
                    "settings_hash = ?",
                    key,
                ).fetchone():
                    continue
                held = self.con.execute(
                    "SELECT owner, host, pid, started, heartbeat FROM claims WHERE "
                    "instance_sha256 = ? AND solver = ? AND settings_hash = ?",
                    key,
                ).fetchone()
                if held is not None:
                    owner, host, pid, started, heartbeat = held
                    if owner != self.owner and _alive(host, pid, started, heartbeat, now):
                        continue
                self.con.execute(
                    "INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (*key, self.owner, self.host, self.pid, self.started, now),
                )
                got.add(key)
            self.con.commit()
            return got

        return self._guard(q)

    def start_heartbeat(self, interval_s: float = HEARTBEAT_S) -> None:
        """Refresh this run's claims every ``interval_s`` from a thread (its own connection), so other
        hosts see it alive while a long solve runs."""
        if self._beat is not None:
            return

        def beat() -> None:
            con = sqlite3.connect(self.path, timeout=interval_s)
            try:
                while not self._stop.wait(interval_s):
                    try:
                        con.execute(
                            "UPDATE claims SET heartbeat = ? WHERE owner = ?",
                            (time.time(), self.owner),
                        )
                        con.commit()
                    except sqlite3.Error:
                        pass  # busy: next time
            finally:
                con.close()

        self._beat = threading.Thread(target=beat, name="edgeopt-claims-heartbeat", daemon=True)
        self._beat.start()

    def add(self, row: dict[str, Any]) -> bool:
        """Insert one row, release its claim and commit; False (nothing written) when a row with
        this key is already stored — another batch's rows are never replaced."""
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
        key = (row["instance_sha256"], row["solver"], row["settings_hash"])

        def q() -> bool:
            cur = self.con.execute(
                f"INSERT INTO results ({', '.join(_NAMES)}) VALUES ({marks}) "
                "ON CONFLICT (instance_sha256, solver, settings_hash) DO NOTHING",
                vals,
            )
            self.con.execute(
                "DELETE FROM claims WHERE instance_sha256 = ? AND solver = ? AND settings_hash = ? "
                "AND owner = ?",
                (*key, self.owner),
            )
            self.con.commit()
            return cur.rowcount == 1

        return self._guard(q)


@contextmanager
def _reader(path: str | os.PathLike[str]) -> Iterator[sqlite3.Connection]:
    con = _connect(path, create=False)
    try:
        yield con
    finally:
        con.close()


def read_rows(path: str | os.PathLike[str], *, with_solution: bool = False) -> list[dict[str, Any]]:
    """Every row of the database as a dict, JSON columns decoded (``solution`` only on request).

    A damaged file, a foreign schema or a cell of the wrong type raises one-line ``InputError``.
    """
    names: Iterable[str] = [c for c in _NAMES if with_solution or c != "solution"]
    with _reader(path) as con:
        try:
            cur = con.execute(f"SELECT id, {', '.join(names)} FROM results ORDER BY id")
            cols = [d[0] for d in cur.description]
            out = [_checked_row(path, dict(zip(cols, rec))) for rec in cur]
        except sqlite3.Error as exc:
            raise _damaged(path, exc) from None
    return out


def _checked_row(path: str | os.PathLike[str], row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with JSON cells decoded, every cell of its column's type (SQLite does not enforce them)."""

    def bad(col: str, what: str) -> InputError:
        return InputError(f"row {row['id']}, column '{col}': {what}", source=printable(str(path)))

    for c, v in row.items():
        if c == "id":
            continue
        if v is None:
            if c in _REQUIRED:
                raise bad(c, "missing")
        elif c in JSON_COLUMNS:
            try:
                row[c] = json.loads(v) if isinstance(v, str) else None
            except (ValueError, RecursionError):
                raise bad(c, "malformed JSON") from None
            if not isinstance(row[c], dict):
                raise bad(c, "expected a JSON object")
        elif c in _NUMBER_COLUMNS:
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise bad(c, f"expected a finite number, got {v!r}"[:200])
        elif c in _TEXT_COLUMNS and not isinstance(v, str):
            raise bad(c, f"expected text, got {type(v).__name__}")
    return row
