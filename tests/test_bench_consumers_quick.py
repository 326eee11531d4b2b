"""A seconds-long smoke of the consumers benchmark (`python -m bench.consumers --quick`).

The figures in `docs/performance.md` come from the full run; this proves the tool still runs
against the real PostgreSQL and RabbitMQ, that every consumer it times handles every message it is
sent, and that each row carries its figure beside its baseline. No timing is asserted.
"""

from __future__ import annotations

from bench.consumers import summary_rows


async def test_the_consumers_benchmark_gives_each_figure_beside_its_baseline() -> None:
    rows = await summary_rows(quick=True)

    assert [row.unit for row in rows] == ["events/s", "events/s", "ms", "ms", "ms"]
    toolkit, metrics, toolkit_cpu, metrics_cpu, lag = rows
    assert toolkit.baseline_label.startswith("aio-pika")
    assert toolkit_cpu.baseline_label.startswith("aio-pika")
    assert metrics.baseline == toolkit.figure
    assert metrics_cpu.baseline == toolkit_cpu.figure
    assert lag.baseline is None
    for row in rows:
        assert row.figure > 0
        assert row.rounds == 1
        assert row.goal
        assert row.load >= 0
