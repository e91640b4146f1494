"""edgeopt.solvers."""
