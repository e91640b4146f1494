"""``edgeopt experiment NAME``: one module per experiment (listed in ``edgeopt.cli.EXPERIMENTS``)."""
