"""Named experiments: ``edgeopt experiment NAME [options]`` (the table is ``edgeopt.cli.EXPERIMENTS``)."""
