"""``edgeopt report``: a Markdown report with plots from a results database."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgeopt.paths import check_output


def configure(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Write report.md (comparison table, per-instance gaps) and PNG plots (gap per solver, time "
        "against size, per-controller utilisation and topology of one instance) from a results "
        "database."
    )
    p.add_argument(
        "--db", default="results.sqlite", help="SQLite results file (default results.sqlite)"
    )
    p.add_argument("--out", required=True, help="output folder, e.g. reports/NAME/")
    p.add_argument(
        "--instance",
        default=None,
        help="instance name or path to draw utilisation and topology for (default: the largest scenario)",
    )
    p.add_argument("--title", default=None, help="report title")


def run(a: argparse.Namespace) -> int:
    from edgeopt.report.build import build_report

    check_output(a.out, option="--out", inputs=[a.db], folder=True)
    files = build_report(a.db, a.out, instance=a.instance, title=a.title)
    print(f"{Path(a.out) / 'report.md'}: {len(files)} file(s) written")
    return 0
