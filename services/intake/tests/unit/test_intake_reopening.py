"""The requester's reply after the closure e-mail: reopen, open a follow-up, or comment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpdesk_intake.domain.reopening import (
    AfterClosure,
    Settlement,
    after_closure,
    own_words,
    settlement,
)

NOW = datetime.now(UTC)
RESOLVED = NOW - timedelta(days=3)
CLOSURE_MAIL = (
    "Le 2 mars, DSI a écrit :\n> Votre ticket est clôturé.\n"
    "> Si le problème persiste, répondez à ce courriel."
)


def events(*kinds: tuple[str, dict[str, object]]) -> Settlement:
    return settlement(kinds)


def resolved_then_closed(code: str = "resolved", at: datetime = RESOLVED) -> Settlement:
    return events(
        ("TicketOpened", {"occurred_at": (at - timedelta(hours=1)).isoformat()}),
        ("TicketResolved", {"occurred_at": at.isoformat()}),
        ("Closed", {"occurred_at": at.isoformat(), "code": code}),
    )


def test_within_the_window_the_problem_that_persists_reopens() -> None:
    text = f"Bonjour, le problème persiste.\n\n{CLOSURE_MAIL}"
    assert after_closure(resolved_then_closed(), text, NOW) is AfterClosure.REOPEN


def test_after_the_window_it_opens_a_new_ticket() -> None:
    state = resolved_then_closed(at=NOW - timedelta(days=11))
    assert after_closure(state, "Ça ne fonctionne toujours pas", NOW) is AfterClosure.NEW_TICKET
    assert after_closure(state, "pas résolu", NOW, window=timedelta(days=30)) is (
        AfterClosure.REOPEN
    )


def test_closed_without_a_resolution_it_opens_a_new_ticket() -> None:
    state = events(("Closed", {"occurred_at": RESOLVED.isoformat(), "code": "out_of_scope"}))
    assert after_closure(state, "Le problème PERSISTE", NOW) is AfterClosure.NEW_TICKET


@pytest.mark.parametrize(
    "text",
    [
        f"Merci beaucoup !\n\n{CLOSURE_MAIL}",  # the quoted closure mail says "persiste"
        "Merci\n> Si le problème persiste, répondez",
        "Merci\n-----Message d'origine-----\nSi le problème persiste, répondez",
    ],
)
def test_thanks_stay_a_comment_whatever_the_quoted_mail_says(text: str) -> None:
    assert after_closure(resolved_then_closed(), text, NOW) is AfterClosure.COMMENT


def test_a_reply_on_an_open_or_reopened_ticket_is_a_comment() -> None:
    assert after_closure(Settlement(), "le problème persiste", NOW) is AfterClosure.COMMENT
    reopened = events(
        ("TicketResolved", {"occurred_at": RESOLVED.isoformat()}),
        ("TicketReopened", {"occurred_at": NOW.isoformat()}),
    )
    assert after_closure(reopened, "le problème persiste", NOW) is AfterClosure.COMMENT


def test_own_words_leave_the_quote_out() -> None:
    assert own_words(f"Toujours en panne\n{CLOSURE_MAIL}").strip() == "Toujours en panne"
