"""The alert rules in deploy/prometheus/rules are valid for Prometheus (`promtool check rules`)
and fire on what they are meant for (`promtool test rules`, deploy/prometheus/tests).

`make test` installs promtool first (scripts/ensure-promtool); without it these tests fail: an
unchecked rule file would only be found broken by the Prometheus that refuses to load it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RULES = sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml"))
RULE_TESTS = sorted((REPO / "deploy" / "prometheus" / "tests").glob("*.yml"))


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: run scripts/ensure-promtool (make test does)"
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_rule_files_are_valid() -> None:
    assert len(RULES) >= 2
    checked = _promtool("check", "rules", *map(str, RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_alerts_fire_on_their_cases() -> None:
    assert RULE_TESTS
    tested = _promtool("test", "rules", *map(str, RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_rule_has_a_case() -> None:
    alerts = {
        line.split(":", 1)[1].strip()
        for path in RULES
        for line in path.read_text().splitlines()
        if line.strip().startswith("- alert:")
    }
    cases = "\n".join(path.read_text() for path in RULE_TESTS)
    untested = {a for a in alerts if f"alertname: {a}" not in cases}
    # Alerts on `up` and on the metrics service's own errors predate the cases; the others all
    # have one.
    assert untested <= {
        "HelpdeskMetricsDown",
        "HelpdeskMetricsFactsUnreadable",
        "HelpdeskCommitmentMissed",
    }, untested
