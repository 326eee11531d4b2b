"""The demo day on a real local stack: tickets opened and closed, an article, KPIs, the rules."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy.local.demo_day import main, progress_line
from deploy.local.parts import free_port
from deploy.local.stack import running_stack

from helpdesk_shared.auth import issue_token
from helpdesk_shared.settings import CommonSettings


def test_the_progress_line_counts_what_happened_so_far() -> None:
    tally = Counter({"opened": 10, "closed": 6, "routed": 2})
    assert progress_line(10, 30, tally) == "tickets 10/30: opened 10, closed 6, routed 2"


def test_the_demo_day_fills_the_desk_and_the_kpis(
    runner_env: dict[str, str],
    run_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with running_stack(run_dir, env=runner_env, demo=True, timeout=180) as stack:
        for name, url in stack.urls.items():
            monkeypatch.setenv(f"HELPDESK_{name.upper()}_URL", url)
        monkeypatch.setenv("HELPDESK_JWT_SECRET", runner_env["HELPDESK_JWT_SECRET"])
        assert main(["--tickets", "9", "--wait", "30", "--every", "4"]) == 0
        printed = capsys.readouterr().out.splitlines()
        assert [line.split(":")[0] for line in printed if line.startswith("tickets ")] == [
            "tickets 4/9",
            "tickets 8/9",
        ]

        settings = CommonSettings(helpdesk_jwt_secret=runner_env["HELPDESK_JWT_SECRET"])
        headers = {"Authorization": f"Bearer {issue_token(settings, 'chef.desk', ['manager'])}"}

        def get(service: str, path: str, **params: object) -> Any:
            response = httpx.get(
                stack.urls[service] + path, headers=headers, params=params, timeout=30
            )
            assert response.status_code == 200, response.text
            return response.json()

        assert main(["--tickets", "2", "--wait", "0"]) == 0  # a re-run: no second article
        page = get("ticket", "/v1/tickets", limit=100)
        assert isinstance(page, dict)
        statuses = [t["status"] for t in page["items"]]
        assert len(statuses) >= 11
        assert "closed" in statuses
        articles = get("ticket", "/v1/articles", q="imprimante")
        assert isinstance(articles, list)
        assert [a["title"] for a in articles].count("Imprimante réseau hors ligne") == 1
        kpis = get("metrics", "/v1/kpis")
        assert isinstance(kpis, dict)
        opened = sum(sum(c.values()) for c in kpis["opened_per_day"].values())
        assert opened >= 1
        assert len(kpis["commitments"]) == 4
        assert any(c["denominator"] > 0 for c in kpis["commitments"])  # calls counted
        _assert_the_rules_were_played(get)


def _listed(get: Callable[..., Any], expected: int, **criteria: object) -> list[Any]:
    """The tickets matching `criteria` once the list (a projection, fed by events) has them all."""
    deadline = time.monotonic() + 30
    while True:
        items: list[Any] = get("ticket", "/v1/tickets", limit=200, **criteria)["items"]
        if len(items) >= expected or time.monotonic() > deadline:
            return items
        time.sleep(0.5)


def _reopenings(get: Callable[..., Any], requester: str, expected: int) -> list[Any]:
    """The `TicketReopened` entries in the histories of `requester`'s listed tickets."""
    deadline = time.monotonic() + 30
    while True:
        reopened = []
        for summary in get("ticket", "/v1/tickets", requester=requester, limit=200)["items"]:
            history = get("ticket", f"/v1/tickets/{summary['id']}/history")
            reopened += [e for e in history if e["type"] == "TicketReopened"]
        if len(reopened) >= expected or time.monotonic() > deadline:
            return reopened
        time.sleep(0.5)


def _assert_the_rules_were_played(get: Callable[..., Any]) -> None:
    """The complaint, the EPLE's remote session and the reopening, one per run, as recorded."""
    complaints = _listed(get, 2, group="management")
    assert [t["type"] for t in complaints] == ["complaint", "complaint"]
    assert all(t["reference"].startswith("REC-") for t in complaints)

    school = _listed(get, 2, requester="demo.college")
    assert len(school) == 2
    for summary in school:
        view = get("ticket", f"/v1/tickets/{summary['id']}")
        assert (view["requester_organisation_kind"], view["consent"]["granted"]) == ("eple", True)
        assert [a["kind"] for a in view["appointments"]] == ["remote"]

    reopened = _reopenings(get, "demo.alpha", 2)
    assert len(reopened) == 2
    assert all("le problème persiste" in e["data"]["reason"] for e in reopened)
    assert all(e["by"] == "demo.alpha" for e in reopened)


def test_the_demo_day_says_which_service_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("INTAKE", "TICKET", "METRICS"):
        monkeypatch.setenv(f"HELPDESK_{name}_URL", f"http://127.0.0.1:{free_port()}")
    assert main(["--tickets", "1"]) == 2
    assert "intake" in capsys.readouterr().err
