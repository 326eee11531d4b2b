"""Where intake finds the ticket service for its article suggestions."""

import pytest

from helpdesk_intake.settings import Settings


def test_intake_ticket_url_wins_over_the_runners_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_TICKET_URL", "http://127.0.0.1:18002")
    assert Settings().intake_ticket_url == "http://127.0.0.1:18002"
    monkeypatch.setenv("INTAKE_TICKET_URL", "http://ticket:8002")
    assert Settings().intake_ticket_url == "http://ticket:8002"


def test_the_default_is_the_ticket_services_contract_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELPDESK_TICKET_URL", raising=False)
    monkeypatch.delenv("INTAKE_TICKET_URL", raising=False)
    assert Settings().intake_ticket_url == "http://127.0.0.1:8002"
    assert Settings().intake_suggestions_timeout_seconds == 0.5
