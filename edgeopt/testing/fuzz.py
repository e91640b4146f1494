"""Hypothesis strategies that turn a valid input file into a malformed one.

They mutate the parsed document (wrong types, NaN, huge numbers, missing and
unknown keys, unicode and duplicate ids, deep nesting) and then, sometimes,
the bytes (truncation, invalid UTF-8), so every reader can be driven through
its error paths. A mutation may happen to leave the file valid.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

__all__ = ["malformed_json", "malformed_text", "json_paths"]

#: Values that break typed readers: wrong types, non-finite and out-of-range numbers, odd strings.
NASTY_VALUES: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    0.5,
    -1e-300,
    1e308,
    -1e308,
    10**30,
    10**400,
    float("nan"),
    float("inf"),
    float("-inf"),
    "",
    " ",
    "x",
    "ünïcødé-😀",
    "\u202eRTL\x00",
    [],
    {},
    [1, "a", None],
    {"": {}},
)
#: Keys worth adding to an object: unknown names, names readers special-case, unicode.
NASTY_KEYS: tuple[str, ...] = (
    "unknown",
    "",
    "id",
    "format",
    "incoming_graph_data",
    "__class__",
    "ключ",
)
# Copies: the document is mutated in place, so it must never share a nasty list or dict.
_nasty_values = st.sampled_from(NASTY_VALUES).map(copy.deepcopy)
_DEEP = "\u0000DEEP\u0000"  # placeholder replaced by deeply nested JSON text


def json_paths(doc: Any) -> list[tuple[Any, ...]]:
    """Every path (tuple of keys and indices) into ``doc``, the root first, depth-first.

    Examples
    --------
    >>> json_paths({"a": [1, {"b": 2}]})
    [(), ('a',), ('a', 0), ('a', 1), ('a', 1, 'b')]
    """
    out: list[tuple[Any, ...]] = []

    def walk(x: Any, path: tuple[Any, ...]) -> None:
        out.append(path)
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, (*path, k))
        elif isinstance(x, list):
            for k, v in enumerate(x):
                walk(v, (*path, k))

    walk(doc, ())
    return out


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        doc = doc[k]
    return doc


def _strings(doc: Any) -> list[str]:
    return sorted({v for p in json_paths(doc) if isinstance(v := _get(doc, p), str)})


@st.composite
def _mutate_once(draw: st.DrawFn, doc: Any) -> Any:
    """One structural mutation of ``doc`` (returns the new root)."""
    paths = json_paths(doc)
    path = draw(st.sampled_from(paths))
    kind = draw(
        st.sampled_from(
            ["replace", "delete", "duplicate", "add_key", "rekey", "restring", "scale", "deep"]
        )
    )
    value = _get(doc, path)
    parent = _get(doc, path[:-1]) if path else None
    key = path[-1] if path else None
    if kind == "delete" and parent is not None:
        del parent[key]
        return doc
    if kind == "duplicate" and isinstance(parent, list):
        parent.insert(int(key or 0), copy.deepcopy(value))
        return doc
    if kind == "rekey" and isinstance(parent, dict):
        # Rename a key (a family, an item of an assignment ...) keeping its place.
        new_key = draw(st.sampled_from(_strings(doc)[:20] + list(NASTY_KEYS)))
        items = [(new_key if k == key else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)
        return doc
    if kind == "add_key" and isinstance(value, dict):
        value[draw(st.sampled_from(NASTY_KEYS))] = draw(_nasty_values)
        return doc
    if kind == "restring" and isinstance(value, str):
        # Another string of the same file (a wrong reference or a duplicate id) or a nasty one.
        new: Any = draw(st.sampled_from(_strings(doc) + ["", "ünïcødé-😀", value + value]))
    elif kind == "scale" and isinstance(value, int | float) and not isinstance(value, bool):
        factor = draw(st.sampled_from([-1, 0, 1e-300, 1e300, 1e15 + 1, 2**63]))
        try:
            new = value * factor
        except OverflowError:  # an int beyond float range times a float: stay an (huge) int
            new = value * 2**63
    elif kind == "deep":
        new = _DEEP
    else:
        new = draw(_nasty_values)
    if parent is None:
        return new
    parent[key] = new
    return doc


@st.composite
def malformed_json(draw: st.DrawFn, document: Any, *, max_mutations: int = 3) -> bytes:
    """The bytes of ``document`` after 1..``max_mutations`` mutations, maybe byte-damaged.

    Parameters
    ----------
    document : JSON-like
        A *valid* document (it is deep-copied, never changed).
    max_mutations : int
        At most this many structural mutations.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from edgeopt.errors import InputError
    >>> from edgeopt.jsonio import loads
    >>> @settings(max_examples=20, database=None, deadline=None)
    ... @given(malformed_json({"format": "x/1", "ids": ["a", "b"]}))
    ... def check(raw):
    ...     try:
    ...         loads(raw)
    ...     except InputError:
    ...         pass  # the one error a reader may raise
    >>> check()
    """
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, max_mutations))):
        doc = draw(_mutate_once(doc))
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), allow_nan=True)
    marker = json.dumps(_DEEP)
    if marker in text:
        depth = draw(st.sampled_from([64, 2000, 200_000]))
        text = text.replace(marker, "[" * depth + "]" * depth)
    raw = text.encode("utf-8")
    damage = draw(st.sampled_from(["none", "none", "truncate", "bad-utf8", "bom", "trailing"]))
    if damage == "truncate":
        raw = raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]
    elif damage == "bad-utf8":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + b"\xff\xfe" + raw[at:]
    elif damage == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif damage == "trailing":
        raw = raw + b" {}"
    return raw


@st.composite
def malformed_text(draw: st.DrawFn, text: str, *, max_mutations: int = 3) -> bytes:
    """The bytes of a whitespace-separated numeric file (e.g. OR-Library) after damage.

    Tokens are deleted, duplicated or replaced (non-numbers, NaN, huge,
    negative, fractional values), and the bytes may be truncated or get
    invalid UTF-8.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, database=None, deadline=None)
    ... @given(malformed_text("1\\n2 3\\n1 2 3 4 5 6\\n"))
    ... def check(raw):
    ...     assert isinstance(raw, bytes)
    >>> check()
    """
    lines = [line.split() for line in text.splitlines()]
    for _ in range(draw(st.integers(1, max_mutations))):
        spots = [(r, c) for r, row in enumerate(lines) for c in range(len(row))]
        if not spots:
            break
        r, c = draw(st.sampled_from(spots))
        kind = draw(st.sampled_from(["replace", "delete", "duplicate", "newline"]))
        if kind == "delete":
            del lines[r][c]
        elif kind == "duplicate":
            lines[r].insert(c, lines[r][c])
        elif kind == "newline":
            lines.insert(r + 1, lines[r][c:])
            del lines[r][c:]
        else:
            lines[r][c] = draw(
                st.sampled_from(
                    [
                        "x",
                        "nan",
                        "inf",
                        "-inf",
                        "1e400",
                        "-5",
                        "0",
                        "2.5",
                        "1e15",
                        "9" * 30,
                        "0x10",
                        "١",
                        "",
                    ]
                )
            )
    raw = "\n".join(" ".join(row) for row in lines).encode("utf-8")
    damage = draw(st.sampled_from(["none", "none", "truncate", "bad-utf8"]))
    if damage == "truncate":
        raw = raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]
    elif damage == "bad-utf8":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + b"\xff" + raw[at:]
    return raw
