"""``edgeopt import-gap``: a GAP file (OR-Library or single-problem) as core-problem files."""

from __future__ import annotations

import argparse

from edgeopt.argcheck import MAX_COLUMNS, check_options
from edgeopt.paths import check_output


def configure(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Write one edgeopt-problem/1 file per problem of a GAP file: an OR-Library "
        "gap*.txt file (problems gap1-1 ...) or a single-problem file in the format of Yagiura, "
        "Ibaraki and Glover (c10400, e05100 ...; one problem named after the file). The format is "
        "told by counting the numbers in the file."
    )
    p.add_argument(
        "file",
        help="GAP file, e.g. ../shared/data/orlib-gap/gap1.txt or ../shared/data/gap-large/e05100",
    )
    p.add_argument("--out", required=True, help="output folder")
    from edgeopt.core.orlib import DEFAULT_GAP_MAX_COLUMNS

    p.add_argument(
        "--max-columns",
        type=int,
        default=DEFAULT_GAP_MAX_COLUMNS,
        help="refuse a file of more columns (agents × jobs, over its problems) "
        f"(default {DEFAULT_GAP_MAX_COLUMNS:,})",
    )


def run(a: argparse.Namespace) -> int:
    from edgeopt.core.orlib import import_gap

    check_options(a, max_columns=MAX_COLUMNS)
    check_output(a.out, option="--out", inputs=[a.file], folder=True)
    paths = import_gap(a.file, a.out, max_columns=a.max_columns)
    print(f"{a.file}: {len(paths)} problem file(s) written to {a.out}")
    return 0
