"""OR-Library generalised assignment files (gap1–gap12, gapa–gapd) as core problems.

Each problem becomes one option per (job, agent), one capacity resource per
agent, no balanced resource and w_U = 0 (MODEL.md §5).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np

from edgeopt.core.io import problem_to_dict
from edgeopt.core.problem import Problem
from edgeopt.errors import InputError
from edgeopt.jsonio import dumps, read_bytes, write_files_atomic

__all__ = [
    "ORLIB_ENV",
    "orlib_dir",
    "gap_sense",
    "import_gap",
    "parse_gap_text",
    "published_optima",
    "read_gap_file",
]

#: Environment variable naming the folder of the OR-Library files (gap1.txt ... OPTIMA.md).
ORLIB_ENV = "EDGEOPT_ORLIB_DIR"
#: Where the shared files sit relative to the folder that holds the repository checkout.
SHARED_BESIDE = Path("shared") / "data" / "orlib-gap"


def orlib_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The folder of the OR-Library GAP files: ``explicit`` (an option), else
    ``$EDGEOPT_ORLIB_DIR``, else ``../shared/data/orlib-gap`` beside the edgeopt checkout that
    holds the working directory or this source tree, when that folder exists.

    Raises ``InputError`` saying how to point at the files when none of these is set.
    """
    if explicit:
        return Path(explicit)
    if os.environ.get(ORLIB_ENV):
        return Path(os.environ[ORLIB_ENV])
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        checkout = _checkout_holding(start)
        if checkout is not None and (checkout.parent / SHARED_BESIDE).is_dir():
            return checkout.parent / SHARED_BESIDE
    raise InputError(
        f"OR-Library data not found: set {ORLIB_ENV}=DIR (or pass the data folder option) to the "
        f"folder holding gap1.txt ... OPTIMA.md; no ../{SHARED_BESIDE.as_posix()} beside an edgeopt "
        "checkout here",
        field=ORLIB_ENV,
    )


def _checkout_holding(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that is an edgeopt source checkout."""
    for d in (start, *start.parents):
        if (d / "pyproject.toml").is_file() and (d / "edgeopt" / "__init__.py").is_file():
            return d
    return None


def gap_sense(stem: str) -> str:
    """``'max'`` for gap1–gap12 (Osman; Cattrysse et al.), ``'min'`` for gapa–gapd (Chu & Beasley)."""
    return "max" if re.fullmatch(r"gap\d+", stem.lower()) else "min"


class _Tokens:
    """Whitespace-separated numbers of a file, each remembering its line for error messages."""

    def __init__(self, text: str, source: str):
        self.source = source
        toks: list[str] = []
        lines: list[int] = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            parts = line.split()
            toks.extend(parts)
            lines.extend([lineno] * len(parts))
        self.toks = toks
        self.lines = lines
        self.pos = 0

    def fail(self, message: str) -> InputError:
        return InputError(message, source=self.source)

    def take(self, count: int, what: str, where: str = "") -> np.ndarray:
        """The next ``count`` numbers as float64; a short or non-numeric run raises."""
        chunk = self.toks[self.pos : self.pos + count]
        if len(chunk) < count:
            prefix = f"{where}: " if where else ""
            raise self.fail(f"{prefix}expected {count} {what}, got {len(chunk)} (file ends)")
        what = f"{where}: {what}" if where else what
        try:
            values = np.array(chunk, dtype=np.float64)
        except ValueError:
            for k, tok in enumerate(chunk):
                try:
                    float(tok)
                except ValueError:
                    line = self.lines[self.pos + k]
                    raise self.fail(f"{what}: {tok!r} on line {line} is not a number") from None
            raise  # pragma: no cover - numpy and float() disagree
        if not np.isfinite(values).all():
            k = int(np.flatnonzero(~np.isfinite(values))[0])
            raise self.fail(
                f"{what}: {chunk[k]!r} on line {self.lines[self.pos + k]} is not finite"
            )
        if (np.abs(values) > 1e15).any():
            k = int(np.flatnonzero(np.abs(values) > 1e15)[0])
            raise self.fail(
                f"{what}: {chunk[k]!r} on line {self.lines[self.pos + k]} is out of range (|x| <= 1e15)"
            )
        self.pos += count
        return values

    def take_int(self, what: str, *, min_value: int, where: str = "") -> int:
        v = float(self.take(1, what, where)[0])
        what = f"{where}: {what}" if where else what
        if not v.is_integer() or v < min_value:
            line = self.lines[self.pos - 1]
            raise self.fail(
                f"{what} must be an integer >= {min_value}, got {self.toks[self.pos - 1]!r} on line {line}"
            )
        return int(v)


def parse_gap_text(text: str, *, stem: str, source: str = "<gap>") -> list[Problem]:
    """Parse the text of one OR-Library GAP file into problems named ``{stem}-{k}``."""
    t = _Tokens(text, source)
    n_problems = t.take_int("number of problems", min_value=1)
    sense = gap_sense(stem)
    problems = []
    for k in range(1, n_problems + 1):
        where = f"problem {k}"
        m = t.take_int("number of agents", min_value=1, where=where)
        n = t.take_int("number of jobs", min_value=1, where=where)
        cost = t.take(m * n, "cost values", where).reshape(m, n)
        use = t.take(m * n, "resource values", where).reshape(m, n)
        cap = t.take(m, "capacity values", where)
        if (use < 0).any():
            raise t.fail(f"{where}: negative resource value {use.min():g}")
        if (cap <= 0).any():
            raise t.fail(f"{where}: capacity must be > 0, got {cap.min():g}")
        problems.append(_gap_problem(f"{stem}-{k}", sense, cost, use, cap, source, k))
    if t.pos < len(t.toks):
        extra = len(t.toks) - t.pos
        raise t.fail(
            f"{extra} unexpected value(s) after {n_problems} problem(s), from line {t.lines[t.pos]}"
        )
    return problems


def _gap_problem(
    name: str, sense: str, cost: np.ndarray, use: np.ndarray, cap: np.ndarray, source: str, k: int
) -> Problem:
    m, n = cost.shape
    # Columns ordered job-major (item), agent-minor: column j*m + i is job j on agent i.
    col_item = np.repeat(np.arange(n, dtype=np.int64), m)
    col_bin = np.tile(np.arange(m, dtype=np.int64), n)
    col_cost = cost.T.reshape(-1)
    if sense == "max":
        col_cost = -col_cost
    agent_ids = [f"a{i + 1}" for i in range(m)]
    return Problem.from_columns(
        name=name,
        item_ids=[f"j{j + 1}" for j in range(n)],
        bin_ids=agent_ids,
        option_ids=["-"],
        resource_ids=list(agent_ids),
        col_item=col_item,
        col_bin=col_bin,
        col_option=np.zeros(n * m, dtype=np.int64),
        col_cost=col_cost,
        use_rows=col_bin,
        use_cols=np.arange(n * m, dtype=np.int64),
        use_vals=use.T.reshape(-1),
        capacity=cap,
        sense=sense,
        meta={"source_format": "orlib-gap", "file": Path(source).name, "problem": k},
    )


def read_gap_file(path: str | os.PathLike[str]) -> list[Problem]:
    """Read an OR-Library GAP file; malformed or truncated files raise :class:`InputError`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "gap0.txt").write_text("1\\n2 3\\n1 2 3 4 5 6\\n1 1 1 2 2 2\\n3 4\\n")
    >>> [p] = read_gap_file(d / "gap0.txt")
    >>> p.name, p.sense, p.n_items, p.n_columns, p.capacity.tolist()
    ('gap0-1', 'max', 3, 6, [3.0, 4.0])
    """
    p = Path(path)
    raw = read_bytes(p, expected="an OR-Library GAP file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source=str(p)) from None
    return parse_gap_text(text, stem=p.stem, source=str(p))


def import_gap(path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write one ``edgeopt-problem/1`` file per problem of GAP file ``path`` into ``out_dir``:
    every file or none (they are written to a temporary folder first)."""
    files = {
        f"{prob.name}.json": dumps(problem_to_dict(prob), indent=None)
        for prob in read_gap_file(path)
    }
    return write_files_atomic(out_dir, files, inputs=[path])


_ROW = re.compile(r"^\|\s*(gap[0-9a-z]+)\b[^|]*\|(.*)\|\s*$", re.IGNORECASE)


def published_optima(path: str | os.PathLike[str] | None = None) -> dict[str, float]:
    """Published optimal values by problem name (``gap1-1``, ``gapd-6``), parsed from OPTIMA.md.

    Each table row ``| gapN ... | v1 | v2 | ... |`` gives the optima of problems
    1, 2, ... of file gapN, in the file's own objective sense.
    """
    p = Path(path) if path is not None else orlib_dir() / "OPTIMA.md"
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", source=str(p)) from None
    optima: dict[str, float] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        match = _ROW.match(line.strip())
        if not match:
            continue
        stem = match.group(1).lower()
        cells = [c.strip() for c in match.group(2).split("|")]
        for k, cell in enumerate(cells, start=1):
            try:
                value = float(cell)
            except ValueError:
                raise InputError(
                    f"line {lineno}: optimum {cell!r} of {stem}-{k} is not a number", source=str(p)
                ) from None
            if not math.isfinite(value):
                raise InputError(
                    f"line {lineno}: optimum of {stem}-{k} is not finite", source=str(p)
                )
            optima[f"{stem}-{k}"] = value
    if not optima:
        raise InputError("no table rows of published optima found", source=str(p))
    return optima
