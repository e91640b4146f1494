"""edgeopt.testing."""
