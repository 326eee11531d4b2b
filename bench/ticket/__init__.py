"""The ticket service benchmark: `python -m bench.ticket [--quick]`."""
