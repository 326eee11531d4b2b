"""Long commands print a count and a rate every few seconds, never more often."""

from __future__ import annotations

from helpdesk_shared.progress import ProgressLine


def test_a_line_every_interval_with_count_and_rate() -> None:
    now = [100.0]
    lines: list[str] = []
    progress = ProgressLine(
        "metrics replay", "events read", interval=2.0, write=lines.append, clock=lambda: now[0]
    )
    for count, at in [(500, 100.5), (1000, 101.0), (4000, 102.0), (5000, 103.0), (9000, 104.5)]:
        now[0] = at
        progress(count)
    assert lines == [
        "metrics replay: 4000 events read (2000/s, 2 s)",
        "metrics replay: 9000 events read (2000/s, 4 s)",
    ]
    assert progress.lines == 2


def test_a_short_command_prints_no_line() -> None:
    lines: list[str] = []
    progress = ProgressLine("rebuild", write=lines.append)
    progress(10)
    assert lines == []
