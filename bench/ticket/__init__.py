"""The ticket service benchmark (issue 3): `python -m bench.ticket [--quick]`."""
