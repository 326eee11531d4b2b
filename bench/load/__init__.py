"""The load test of issue 9: a realistic mix at a fixed rate against the four running services."""
