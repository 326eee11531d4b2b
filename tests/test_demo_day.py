"""The demo day played on a real local stack: tickets opened and closed, an article found, KPIs."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from deploy.local.demo_day import main
from deploy.local.parts import free_port
from deploy.local.stack import running_stack

from helpdesk_shared.auth import issue_token
from helpdesk_shared.settings import CommonSettings


def test_the_demo_day_fills_the_desk_and_the_kpis(
    runner_env: dict[str, str], run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_stack(run_dir, env=runner_env, demo=True, timeout=180) as stack:
        for name, url in stack.urls.items():
            monkeypatch.setenv(f"HELPDESK_{name.upper()}_URL", url)
        monkeypatch.setenv("HELPDESK_JWT_SECRET", runner_env["HELPDESK_JWT_SECRET"])
        assert main(["--tickets", "9", "--wait", "30"]) == 0

        settings = CommonSettings(helpdesk_jwt_secret=runner_env["HELPDESK_JWT_SECRET"])
        headers = {"Authorization": f"Bearer {issue_token(settings, 'chef.desk', ['manager'])}"}

        def get(service: str, path: str, **params: object) -> object:
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


def test_the_demo_day_says_which_service_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("INTAKE", "TICKET", "METRICS"):
        monkeypatch.setenv(f"HELPDESK_{name}_URL", f"http://127.0.0.1:{free_port()}")
    assert main(["--tickets", "1"]) == 2
    assert "intake" in capsys.readouterr().err
