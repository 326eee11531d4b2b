"""A seconds-long smoke of the load tool (`python -m bench.load`) against a stack of the test's own.

The full run (10 minutes, figures in `docs/reliability.md`) is too long for CI; this one proves
that the tool drives every route kind of the mix, that the services answer it without a server
error, and that the report carries every figure. No timing is asserted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.load.report import BEGIN, END, render, write
from bench.load.run import run_load, target_of
from deploy.local.stack import Stack, running_stack

#: Route kinds a 15 s run at 10 req/s reaches for sure (the rarer ones are checked when present).
ALWAYS = {"open_phone", "command:take", "notifications", "detail"}


@pytest.fixture
def stack(runner_env: dict[str, str], run_dir: Path) -> Iterator[Stack]:
    with running_stack(run_dir, env=runner_env, demo=True, timeout=180) as started:
        yield started


async def test_the_load_tool_reports_every_figure_without_server_errors(
    stack: Stack, runner_env: dict[str, str], tmp_path: Path
) -> None:
    result = await run_load(target_of(stack, runner_env), rate=10, seconds=15, sample_every=5)

    traffic = result.traffic
    assert traffic.server_errors == 0, traffic.error_samples
    assert traffic.answered == traffic.sent
    assert set(traffic.kinds) >= ALWAYS, sorted(traffic.kinds)
    processes = {"relay", "intake", "ticket", "notify", "metrics"}
    assert set(result.memory.pids) == processes
    assert len(result.memory.samples) >= 3
    assert all(rss is not None for _, sample in result.memory.samples for rss in sample.values())
    assert result.lag_settled.events_stored > 0
    assert set(result.lag_settled.inbox) == {"metrics", "notify"}

    text = render(result, "python -m bench.load --quick", "quick")
    for figure in ("req/s", "p50 ms", "p99 ms", "Errors", "RSS start MiB", "Relay behind"):
        assert figure in text
    for name in processes | set(traffic.kinds):
        assert f"| {name} |" in text

    document = tmp_path / "reliability.md"
    document.write_text("# Reliability\n\n## Faults\n\nkept\n", encoding="utf-8")
    write(document, text)
    write(document, text)  # a second run replaces its block only
    written = document.read_text(encoding="utf-8")
    assert written.count(BEGIN) == 1
    assert written.count(END) == 1
    assert "## Faults\n\nkept" in written
