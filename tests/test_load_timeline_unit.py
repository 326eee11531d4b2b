"""The soak's figures over time: p99 per minute, RSS drift after warm-up, and the plot."""

from pathlib import Path

from bench.load.probes import MemorySamples
from bench.load.timeline import drift_mib, p99_per_interval, plot


def test_p99_is_taken_per_interval_so_a_slow_minute_stands_out() -> None:
    quick = [(t * 0.5, 0.010) for t in range(120)]  # the first minute: 10 ms
    slow = [(60 + t * 0.5, 0.010 if t % 10 else 0.400) for t in range(120)]  # one in ten: 400 ms
    intervals = p99_per_interval(quick + slow)
    assert [(end, answers) for end, _, answers in intervals] == [(60.0, 120), (120.0, 120)]
    assert intervals[0][1] == 0.010
    assert intervals[1][1] == 0.400


def test_memory_drift_leaves_the_warm_up_out() -> None:
    memory = MemorySamples({"ticket": 1})
    memory.samples = [(0.0, {"ticket": 50_000}), (60.0, {"ticket": 90_000})]
    memory.samples += [(60.0 * m, {"ticket": 90_000 + 512 * m}) for m in range(2, 6)]
    assert drift_mib(memory, "ticket", after=60.0) == (90_000 + 512 * 5 - 90_000) / 1024
    assert drift_mib(memory, "gone", after=0.0) is None


def test_the_plot_is_a_png(tmp_path: Path) -> None:
    memory = MemorySamples({"intake": 1, "ticket": 2})
    memory.samples = [(60.0 * m, {"intake": 80_000 + m, "ticket": 90_000}) for m in range(4)]
    timeline = [(float(t), 0.02) for t in range(240)]
    path = tmp_path / "soak.png"
    plot(timeline, memory, path, "soak")
    assert path.read_bytes().startswith(b"\x89PNG")
