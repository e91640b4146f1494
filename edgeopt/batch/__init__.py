"""edgeopt.batch."""
