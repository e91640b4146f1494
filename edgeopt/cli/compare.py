"""``edgeopt compare``: solvers' gaps and times from a results database, as a table (and CSV)."""

from __future__ import annotations

import argparse

from edgeopt.cli.options import names
from edgeopt.paths import check_output


def configure(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Compare solvers stored in a results database: instances solved, feasible and optimal; "
        "gap to the best reference per instance (optimum, else best bound, else best found); times."
    )
    p.add_argument(
        "--db", default="results.sqlite", help="SQLite results file (default results.sqlite)"
    )
    p.add_argument("--csv", default=None, help="also write the table as CSV to this file")
    p.add_argument("--solvers", default=None, help="comma-separated solvers to show (default all)")


def run(a: argparse.Namespace) -> int:
    from edgeopt.batch.store import read_rows
    from edgeopt.jsonio import write_text_atomic
    from edgeopt.report.compare import compare, format_table, to_csv

    if a.csv:
        check_output(a.csv, option="--csv", inputs=[a.db])
    c = compare(read_rows(a.db), solvers=names(a.solvers))
    print(format_table(c))
    if a.csv:
        write_text_atomic(a.csv, to_csv(c))
        print(f"→ {a.csv}")
    return 0
