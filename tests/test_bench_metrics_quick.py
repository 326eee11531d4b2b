"""A seconds-long smoke of the metrics benchmark (`python -m bench.bench_metrics`).

The figures in `docs/performance.md` come from the full run; this proves the tool still runs
against the real PostgreSQL and RabbitMQ, that the projection it times keeps up with every event
it is sent, and that the report carries each measurement beside its baseline. No timing is
asserted.
"""

from __future__ import annotations

import re

import pytest
from bench.bench_metrics import Sizes, run


async def test_the_metrics_benchmark_reports_each_figure_beside_its_baseline(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await run(Sizes(rebuild_events=600, flood_events=120, rate=40.0, lag_seconds=1.0))
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    rows = {row.split(" | ")[0].lstrip("| "): row for row in table[2:]}
    assert set(rows) == {
        "full rebuild, 600 events",
        "consumer, 120 events queued",
        "lag at 40 events/s (40 events), p50 / p99",
    }
    assert "`read_all` alone" in rows["full rebuild, 600 events"]
    assert all("empty handler" in row for name, row in rows.items() if "rebuild" not in name)
    assert all(re.search(r"\d", row) for row in rows.values())
