"""The benchmark (`make bench`) runs end to end in quick mode and reports every measurement.

No timing is asserted: the figures of a quick run on a shared machine mean nothing. What must hold
is that every row is there, with its baselines, ratios and the machine it ran on.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]

EXPECTED_ROWS = [
    "| Append, 1 event/tx, 1 writer |",
    "| Append, 1 event/tx, 8 writers |",
    "| Append, 10 events/tx, 1 writer |",
    "| Append, 10 events/tx, 8 writers |",
    "| Append, 100 events/tx, 1 writer |",
    "| Append, 100 events/tx, 8 writers |",
    "| Read all, decoded, pages of 1000 |",
    "| Publish with confirms, batches of 200 |",
]


@pytest.mark.slow
def test_quick_bench_reports_every_row(
    tmp_path: Path, postgres_admin_url: str, amqp_url: str
) -> None:
    report = tmp_path / "performance.md"
    report.write_text("# Performance\n\nHand-written text that the bench must keep.\n")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--quick",
            "--output",
            str(report),
            "--database-url",
            postgres_admin_url,
            "--amqp-url",
            amqp_url,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    text = report.read_text()
    assert "Hand-written text that the bench must keep." in text
    assert text.count("<!-- bench:begin") == 1
    assert "<!-- bench:end -->" in text
    table = [line for line in text.splitlines() if line.startswith("| ")]
    for expected in EXPECTED_ROWS:
        rows = [line for line in table if line.startswith(expected)]
        assert len(rows) == 1, f"missing row {expected}"
        cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
        assert len(cells) == 9
        ours, plain, versus_plain = cells[1], cells[2], cells[3]
        assert ours.replace(",", "").isdigit(), rows[0]
        assert plain.replace(",", "").isdigit(), rows[0]
        assert versus_plain.endswith("x"), rows[0]
        if expected.startswith("| Append"):
            assert cells[4].replace(",", "").isdigit(), rows[0]  # the peer
    for fact in ("make bench", "PostgreSQL 1", "RabbitMQ ", "CPU: "):
        assert fact in text
    assert "expected" not in text, "a publish did not reach every consumer queue"
    assert "Append, 1 event/tx, 8 writers" in completed.stdout
