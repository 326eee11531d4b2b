"""The metrics service: the desk's commitments (docs/contracts.md) and indicators, live.

It consumes every ticket and call event, keeps per-ticket and per-call facts folded from them (by
the events' own times, so delivery order does not matter), and serves `GET /v1/kpis` (JSON) and
`/metrics` (Prometheus). `python -m helpdesk_metrics.entrypoints.cli replay` rebuilds every
figure from the store.
"""
