"""The soak's figures over time: p99 per interval, RSS per process, and the plot of both.

A long run is judged by its trend, not its totals: memory that grows a little every minute and a
tail latency that creeps up are both invisible in one table of the whole run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.load.probes import MemorySamples


def quantile(values: Sequence[float], q: float) -> float:
    """The nearest-rank quantile of `values` (0.0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def p99_per_interval(
    timeline: Sequence[tuple[float, float]], width: float = 60.0
) -> list[tuple[float, float, int]]:
    """(end of interval in s, p99 latency in s, answers) for each `width`-second interval."""
    buckets: dict[int, list[float]] = {}
    for at, latency in timeline:
        buckets.setdefault(int(at // width), []).append(latency)
    return [
        ((index + 1) * width, quantile(latencies, 0.99), len(latencies))
        for index, latencies in sorted(buckets.items())
    ]


def drift_mib(memory: MemorySamples, name: str, after: float) -> float | None:
    """RSS growth of one process from its first sample at or after `after` s to its last (MiB):
    start-up and warm-up are left out, what remains should be flat."""
    values = [(t, v) for t, sample in memory.samples if (v := sample.get(name)) is not None]
    warmed = [v for t, v in values if t >= after]
    if len(warmed) < 2:
        return None
    return (warmed[-1] - warmed[0]) / 1024


def plot(
    timeline: Sequence[tuple[float, float]], memory: MemorySamples, path: Path, title: str
) -> None:
    """RSS of every process and the p99 per minute against time, in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (rss, p99) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for name in memory.pids:
        points = [(t / 60, v / 1024) for t, s in memory.samples if (v := s.get(name)) is not None]
        if points:
            rss.plot(*zip(*points, strict=True), label=name, marker=".")
    rss.set_ylabel("RSS (MiB)")
    rss.legend(fontsize="small", ncol=3)
    rss.grid(alpha=0.3)
    intervals = p99_per_interval(timeline)
    if intervals:
        p99.plot([end / 60 for end, _, _ in intervals], [v * 1000 for _, v, _ in intervals])
    p99.set_ylabel("p99 latency per minute (ms)")
    p99.set_xlabel("minutes")
    p99.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
