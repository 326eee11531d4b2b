"""The load test: a realistic mix at a fixed rate against the four running services."""
