"""edgeopt.report."""
