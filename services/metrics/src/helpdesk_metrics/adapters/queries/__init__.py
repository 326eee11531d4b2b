"""The metrics service's read side: what `/v1/kpis` and `/metrics` read, changing nothing.

The entrypoints may import this package and no other adapter (an import-linter contract checks
it); the projection's writes are in `repository.py` and `projection_unit.py`.
"""
