"""edgeopt.scenario."""
