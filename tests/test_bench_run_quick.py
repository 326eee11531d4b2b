"""`python -m bench.run --quick`: the one command of the benchmarks, as a seconds-long smoke.

The growth benchmark runs through `bench.run` into a temporary report: the summary table must
carry one row per measured path (figure, same-run baseline, ratio, goal, load, rounds), the
machine's facts and the command, and the plot must be drawn beside the report. The other
modules' own smoke tests cover their measurements; here a missing module must stop the run at
once, naming it. No timing is asserted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from bench.growth_paths import PATHS
from bench.run import MODULES, MissingBenchmark, check_modules

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_the_growth_benchmark_writes_every_row_and_its_plot(tmp_path: Path) -> None:
    report = tmp_path / "performance.md"
    report.write_text("# Performance\n\nHand-written text kept.\n", encoding="utf-8")
    command = [sys.executable, "-m", "bench.run", "--quick", "--only", "bench.growth"]
    done = subprocess.run(
        [*command, "--output", str(report)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = report.read_text(encoding="utf-8")
    assert "Hand-written text kept." in text
    rows = [line for line in text.splitlines() if line.startswith("| growth: ")]
    for path in PATHS:
        assert any(f"| growth: {path.name}, " in row for row in rows), path.name
    assert all(len(row.split(" | ")) == 8 for row in rows), rows
    assert "python -m bench.run --quick --only bench.growth" in text
    for fact in ("- CPU: ", "- PostgreSQL ", "- RabbitMQ "):
        assert fact in text
    plot = tmp_path / "performance-growth.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_missing_benchmark_module_stops_the_run_before_anything_runs() -> None:
    with pytest.raises(MissingBenchmark, match=r"bench\.nothing_here"):
        check_modules([*MODULES[:1], "bench.nothing_here"])


FOUNDATION_ROWS = [
    "| appends, 1 event/tx, 8 writers |",
    "| appends, 10 events/tx, 8 writers |",
    "| appends, 100 events/tx, 8 writers |",
    "| read_all, decoded, pages of 1000 |",
    "| relay, confirmed publish, batches of 200 |",
]


def test_the_foundation_reports_each_rate_beside_its_baselines(tmp_path: Path) -> None:
    report = tmp_path / "performance.md"
    command = [sys.executable, "-m", "bench.run", "--quick", "--only", "bench.foundation"]
    done = subprocess.run(
        [*command, "--output", str(report)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = [line for line in report.read_text(encoding="utf-8").splitlines() if line[:2] == "| "]
    for expected in FOUNDATION_ROWS:
        assert any(line.startswith(expected) for line in table), expected
    one_event = [line for line in table if line.startswith(FOUNDATION_ROWS[0])]
    baselines = {line.split(" | ")[2].split(", ", 1)[1] for line in one_event}
    assert baselines == {
        "plain INSERT, primary key only",
        "plain INSERT, same unique constraints",
        "peer (eventsourcing)",
    }
    assert all(line.split(" | ")[3].endswith("x") for line in table[2:]), table
