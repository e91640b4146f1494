"""``edgeopt bench NAME``: one module per benchmark (listed in ``edgeopt.cli.BENCHMARKS``)."""
