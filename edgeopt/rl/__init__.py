"""edgeopt.rl."""
