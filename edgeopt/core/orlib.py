"""Generalised assignment files as core problems: OR-Library multi-problem files (gap1–gap12,
gapa–gapd) and single-problem files of Yagiura, Ibaraki and Glover (c10400, e05100, ...).

Each problem becomes one option per (job, agent), one capacity resource per
agent, no balanced resource and w_U = 0 (docs/model.md §5).
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
    "DEFAULT_GAP_MAX_COLUMNS",
    "GAP_LARGE_ENV",
    "ORLIB_ENV",
    "best_known",
    "gap_large_dir",
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
#: Environment variable naming the folder of the large single-problem GAP files (c10400 ... BEST.md).
GAP_LARGE_ENV = "EDGEOPT_GAP_LARGE_DIR"
#: Where the large GAP files sit relative to the folder that holds the repository checkout.
GAP_LARGE_BESIDE = Path("shared") / "data" / "gap-large"


def orlib_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The folder of the OR-Library GAP files: ``explicit`` (an option), else
    ``$EDGEOPT_ORLIB_DIR``, else ``../shared/data/orlib-gap`` beside the edgeopt checkout that
    holds the working directory or this source tree, when that folder exists.

    Raises ``InputError`` saying how to point at the files when none of these is set.
    """
    return _shared_dir(
        explicit, ORLIB_ENV, SHARED_BESIDE, "OR-Library data", "gap1.txt ... OPTIMA.md"
    )


def gap_large_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The folder of the large single-problem GAP files: ``explicit`` (an option), else
    ``$EDGEOPT_GAP_LARGE_DIR``, else ``../shared/data/gap-large`` beside the edgeopt checkout
    that holds the working directory or this source tree, when that folder exists.

    Raises ``InputError`` saying how to point at the files when none of these is set.
    """
    return _shared_dir(
        explicit, GAP_LARGE_ENV, GAP_LARGE_BESIDE, "large GAP data", "c10400 ... BEST.md"
    )


def _shared_dir(
    explicit: str | os.PathLike[str] | None, env: str, beside: Path, what: str, holding: str
) -> Path:
    if explicit is not None and not str(explicit).strip():
        raise InputError(f"{what}: an empty folder name was given", field="folder")
    if explicit:
        return Path(explicit)
    if os.environ.get(env):
        return Path(os.environ[env])
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        checkout = _checkout_holding(start)
        if checkout is not None and (checkout.parent / beside).is_dir():
            return checkout.parent / beside
    raise InputError(
        f"{what} not found: set {env}=DIR (or pass the data folder option) to the "
        f"folder holding {holding}; no ../{beside.as_posix()} beside an edgeopt "
        "checkout here",
        field=env,
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
    """Parse the text of one GAP file, in either format, into problems.

    An OR-Library file (first number: how many problems, then ``m n`` and the data of each)
    gives problems named ``{stem}-{k}``; a single-problem file (``m n``, the m×n costs, the
    m×n resource requirements, the m capacities) gives one problem named ``{stem}``. The
    format is told by counting numbers: exactly one of the two readings must account for
    every number in the file, else :class:`InputError` says what each reading expected.
    """
    t = _Tokens(text, source)
    multi = _orlib_layout(t.toks)
    single = _single_layout(t.toks)
    if isinstance(multi, int) and isinstance(single, tuple):
        m, n = single
        raise t.fail(
            f"ambiguous: {len(t.toks)} numbers fit both an OR-Library file of {multi} problem(s) "
            f"and a single-problem file with m={m}, n={n} (2+2·m·n+m = {len(t.toks)}); "
            "refusing to guess"
        )
    if isinstance(single, tuple):
        return [_parse_single(t, stem)]
    if isinstance(multi, int):
        return _parse_orlib(t, stem)
    # Neither reading fits: the OR-Library parser says where that reading breaks down.
    try:
        _parse_orlib(_Tokens(text, source), stem)
    except InputError as exc:
        orlib_error = exc.bare_message
    else:  # pragma: no cover - the layout check and the parser agree
        orlib_error = "numbers left over"
    raise t.fail(f"neither an OR-Library file ({orlib_error}) nor a single-problem file: {single}")


def _header_int(tok: str) -> int | None:
    """``tok`` as an integer >= 1, else None (a layout check: the parsers give the errors)."""
    try:
        v = float(tok)
    except ValueError:
        return None
    if not math.isfinite(v) or not v.is_integer() or v < 1 or v > 1e15:
        return None
    return int(v)


def _orlib_layout(toks: list[str]) -> int | str:
    """The number of problems when the numbers are laid out as an OR-Library file, else why not."""
    if not toks:
        return "no numbers"
    count = _header_int(toks[0])
    if count is None:
        return "the number of problems is not an integer >= 1"
    pos = 1
    for k in range(1, count + 1):
        if pos + 2 > len(toks):
            return f"problem {k}: file ends before 'm n'"
        m, n = _header_int(toks[pos]), _header_int(toks[pos + 1])
        if m is None or n is None:
            return f"problem {k}: 'm n' are not integers >= 1"
        pos += 2 + 2 * m * n + m
        if pos > len(toks):
            return f"problem {k}: file ends"
    if pos != len(toks):
        return f"{len(toks) - pos} number(s) after {count} problem(s)"
    return count


def _single_layout(toks: list[str]) -> tuple[int, int] | str:
    """``(m, n)`` when the numbers are laid out as a single-problem file, else what was expected."""
    if len(toks) < 2:
        return f"expected a first line 'm n' (agents, jobs), found {len(toks)} number(s)"
    m, n = _header_int(toks[0]), _header_int(toks[1])
    if m is None or n is None:
        return f"the first line 'm n' must be two integers >= 1, got {toks[0]!r} {toks[1]!r}"
    expected = 2 + 2 * m * n + m
    if len(toks) != expected:
        return f"expected 2+2·m·n+m = {expected} numbers for m={m}, n={n}, found {len(toks)}"
    return m, n


def _parse_orlib(t: _Tokens, stem: str) -> list[Problem]:
    n_problems = t.take_int("number of problems", min_value=1)
    sense = gap_sense(stem)
    problems = []
    for k in range(1, n_problems + 1):
        where = f"problem {k}"
        m = t.take_int("number of agents", min_value=1, where=where)
        n = t.take_int("number of jobs", min_value=1, where=where)
        cost, use, cap = _take_data(t, m, n, where)
        problems.append(_gap_problem(f"{stem}-{k}", sense, cost, use, cap, t.source, k))
    if t.pos < len(t.toks):
        extra = len(t.toks) - t.pos
        raise t.fail(
            f"{extra} unexpected value(s) after {n_problems} problem(s), from line {t.lines[t.pos]}"
        )
    return problems


def _parse_single(t: _Tokens, stem: str) -> Problem:
    m = t.take_int("number of agents", min_value=1)
    n = t.take_int("number of jobs", min_value=1)
    cost, use, cap = _take_data(t, m, n, "")
    return _gap_problem(stem, gap_sense(stem), cost, use, cap, t.source, None)


def _take_data(t: _Tokens, m: int, n: int, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Costs (m×n), resource use (m×n) and capacities (m), checked."""
    cost = t.take(m * n, "cost values", where).reshape(m, n)
    use = t.take(m * n, "resource values", where).reshape(m, n)
    cap = t.take(m, "capacity values", where)
    prefix = f"{where}: " if where else ""
    if (use < 0).any():
        raise t.fail(f"{prefix}negative resource value {use.min():g}")
    if (cap <= 0).any():
        raise t.fail(f"{prefix}capacity must be > 0, got {cap.min():g}")
    return cost, use, cap


def _gap_problem(
    name: str,
    sense: str,
    cost: np.ndarray,
    use: np.ndarray,
    cap: np.ndarray,
    source: str,
    k: int | None,
) -> Problem:
    m, n = cost.shape
    # Columns ordered job-major (item), agent-minor: column j*m + i is job j on agent i.
    col_item = np.repeat(np.arange(n, dtype=np.int64), m)
    col_bin = np.tile(np.arange(m, dtype=np.int64), n)
    col_cost = cost.T.reshape(-1)
    if sense == "max":
        col_cost = -col_cost
    agent_ids = [f"a{i + 1}" for i in range(m)]
    meta: dict[str, object] = {"source_format": "orlib-gap", "file": Path(source).name}
    if k is None:
        meta["source_format"] = "gap-single"
    else:
        meta["problem"] = k
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
        meta=meta,
    )


#: Most columns (agents × jobs, over a file's problems) a GAP file may hold by default: reading
#: and importing cost about 1 kB per column; the largest published instance has 54,000.
DEFAULT_GAP_MAX_COLUMNS = 2_000_000


def read_gap_file(
    path: str | os.PathLike[str], *, max_columns: int | None = DEFAULT_GAP_MAX_COLUMNS
) -> list[Problem]:
    """Read a GAP file, OR-Library (``gap1.txt``: problems ``gap1-1`` ...) or single-problem
    (``e05100``: problem ``e05100``); malformed or truncated files raise :class:`InputError`, and
    so does a file of more than ``max_columns`` columns (checked before it is parsed).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "gap0.txt").write_text("1\\n2 3\\n1 2 3 4 5 6\\n1 1 1 2 2 2\\n3 4\\n")
    >>> [p] = read_gap_file(d / "gap0.txt")
    >>> p.name, p.sense, p.n_items, p.n_columns, p.capacity.tolist()
    ('gap0-1', 'max', 3, 6, [3.0, 4.0])
    >>> _ = (d / "e0203").write_text("2 3\\n1 2 3 4 5 6\\n1 1 1 2 2 2\\n3 4\\n")
    >>> [p] = read_gap_file(d / "e0203")
    >>> p.name, p.sense, p.n_items, p.n_columns, p.meta["source_format"]
    ('e0203', 'min', 3, 6, 'gap-single')
    """
    p = Path(path)
    if max_columns is not None:  # before reading: numbers padded past 64 bytes are no GAP file
        try:
            size = p.stat().st_size
        except OSError:
            size = 0  # read_bytes names the problem
        if size > 64 * 2 * max_columns + 4096:
            _too_large(p, f"{size:,} bytes", max_columns)
    raw = read_bytes(p, expected="a GAP file")
    if max_columns is not None:
        numbers = _count_numbers(raw)
        if numbers // 2 > max_columns:  # every column has a cost and a resource value
            _too_large(p, f"{numbers:,} numbers, about {numbers // 2:,} columns", max_columns)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source=str(p)) from None
    return parse_gap_text(text, stem=p.stem, source=str(p))


def _count_numbers(raw: bytes) -> int:
    """Whitespace-separated tokens of ``raw``, counted without making them (numpy, one pass)."""
    b = np.frombuffer(raw, dtype=np.uint8)
    if b.size == 0:
        return 0
    space = np.isin(b, np.frombuffer(b" \t\n\r\x0b\x0c", dtype=np.uint8))
    return int(np.count_nonzero(~space[1:] & space[:-1]) + (not space[0]))


def _too_large(p: Path, what: str, max_columns: int) -> None:
    raise InputError(
        f"too large to read: {what} exceed --max-columns {max_columns:,} "
        "(raise --max-columns if the memory is there: about 1 kB per column)",
        source=str(p),
    )


def import_gap(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    max_columns: int | None = DEFAULT_GAP_MAX_COLUMNS,
) -> list[Path]:
    """Write one ``edgeopt-problem/1`` file per problem of GAP file ``path`` (either format)
    into ``out_dir``: every file or none (they are written to a temporary folder first)."""
    files = {
        f"{prob.name}.json": dumps(problem_to_dict(prob), indent=None)
        for prob in read_gap_file(path, max_columns=max_columns)
    }
    return write_files_atomic(out_dir, files, inputs=[path])


_ROW = re.compile(r"^\|\s*(gap[0-9a-z]+)\b[^|]*\|(.*)\|\s*$", re.IGNORECASE)


def published_optima(path: str | os.PathLike[str] | None = None) -> dict[str, float]:
    """Published optimal values by problem name (``gap1-1``, ``gapd-6``), parsed from OPTIMA.md.

    Each table row ``| gapN ... | v1 | v2 | ... |`` gives the optima of problems
    1, 2, ... of file gapN, in the file's own objective sense.
    """
    p = Path(path) if path is not None else orlib_dir() / "OPTIMA.md"
    raw = read_bytes(p, expected="a Markdown table of optima")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source=str(p)) from None
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


_BEST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_UNKNOWN = ("—", "–", "-", "")


def best_known(path: str | os.PathLike[str] | None = None) -> dict[str, dict[str, float | None]]:
    """Best known values by instance name, parsed from BEST.md of the large GAP files.

    Each table row ``| name | agents | jobs | best known bound | optimum | best known value |``
    gives ``{"bound": float, "optimum": float or None ("—": not known), "best": float}``
    (minimisation: bound ≤ optimum ≤ best). The header and separator rows are skipped; any
    other table row that does not fit raises :class:`InputError` naming its line.
    """
    p = Path(path) if path is not None else gap_large_dir() / "BEST.md"
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", source=str(p)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source=str(p)) from None
    out: dict[str, dict[str, float | None]] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        row = line.strip()
        if not row.startswith("|"):
            continue
        cells = [c.strip() for c in row.strip("|").split("|")]
        if cells[0].lower() == "instance" or all(re.fullmatch(r":?-+:?", c) for c in cells):
            continue

        def bad(message: str, lineno: int = lineno) -> InputError:
            return InputError(f"line {lineno}: {message}", source=str(p))

        if len(cells) != 6:
            raise bad(
                f"expected 6 cells (instance | agents | jobs | best known bound | optimum | "
                f"best known value), found {len(cells)}"
            )
        name = cells[0]
        if not _BEST_NAME.fullmatch(name):
            raise bad(f"instance name {name!r} is not a plain file name")
        if name in out:
            raise bad(f"instance {name} is listed twice")
        for what, cell in (("agents", cells[1]), ("jobs", cells[2])):
            if _header_int(cell) is None:
                raise bad(f"{what} of {name} must be an integer >= 1, got {cell!r}")
        values: dict[str, float | None] = {}
        for key, what, cell in (
            ("bound", "best known bound", cells[3]),
            ("optimum", "optimum", cells[4]),
            ("best", "best known value", cells[5]),
        ):
            if key == "optimum" and cell in _UNKNOWN:
                values[key] = None
                continue
            try:
                value = float(cell)
            except ValueError:
                raise bad(f"{what} of {name} is not a number: {cell!r}") from None
            if not math.isfinite(value):
                raise bad(f"{what} of {name} is not finite: {cell!r}")
            values[key] = value
        bound, best, opt = values["bound"], values["best"], values["optimum"]
        assert bound is not None and best is not None
        if bound > best:
            raise bad(f"{name}: best known bound {bound:g} exceeds the best known value {best:g}")
        if opt is not None and not bound <= opt <= best:
            raise bad(f"{name}: optimum {opt:g} is not between bound {bound:g} and best {best:g}")
        out[name] = values
    if not out:
        raise InputError("no table rows of best known values found", source=str(p))
    return out
