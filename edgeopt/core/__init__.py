"""edgeopt.core."""
