"""``edgeopt catalog-report``: the measured catalog's tables and accuracy-against-cost plot (was
``python -m edgeopt.profiling.report``)."""

from __future__ import annotations

import argparse

from edgeopt.paths import check_output


def configure(p: argparse.ArgumentParser) -> None:
    from edgeopt.scenario.schema import DEFAULT_CATALOG

    p.description = (
        "Write the measured catalog as Markdown tables (catalog.md) and its accuracy-against-cost "
        "plot into a folder."
    )
    p.add_argument(
        "--catalog",
        default=str(DEFAULT_CATALOG),
        help="measured catalog (default: the one shipped with edgeopt)",
    )
    p.add_argument(
        "--out", default="reports/catalog", help="output folder (default reports/catalog)"
    )


def run(a: argparse.Namespace) -> int:
    from edgeopt.profiling.catalog import load_measured_catalog
    from edgeopt.profiling.report import write_catalog_report

    check_output(a.out, option="--out", inputs=[a.catalog], folder=True)
    for path in write_catalog_report(load_measured_catalog(a.catalog), a.out):
        print(f"wrote {path}")
    return 0
