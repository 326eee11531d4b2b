"""Topic binding patterns, as the broker applies them (the consumer filters with the same rule)."""

import pytest

from helpdesk_shared.messaging.topology import (
    dead_letter_queue_name,
    queue_arguments,
    queue_name,
    topic_matches,
)


@pytest.mark.parametrize(
    ("binding", "key", "expected"),
    [
        ("#", "ticket.opened", True),
        ("#", "", True),
        ("ticket.#", "ticket.opened", True),
        ("ticket.#", "ticket", True),
        ("ticket.#", "ticket.sla.breached", True),
        ("ticket.#", "call.recorded", False),
        ("ticket.#", "tickets.opened", False),
        ("ticket.*", "ticket.opened", True),
        ("ticket.*", "ticket", False),
        ("ticket.*", "ticket.a.b", False),
        ("*.closed", "ticket.closed", True),
        ("#.closed", "ticket.closed", True),
        ("#.closed", "closed", True),
        ("ticket.opened", "ticket.opened", True),
        ("ticket.opened", "ticket.closed", False),
    ],
)
def test_topic_patterns(binding: str, key: str, expected: bool) -> None:
    assert topic_matches(binding, key) is expected


def test_queue_names_and_arguments_follow_the_contract() -> None:
    assert queue_name("helpdesk", "notify") == "helpdesk.notify"
    assert dead_letter_queue_name("helpdesk", "notify") == "helpdesk.notify.dlq"
    arguments = queue_arguments("helpdesk.events", "helpdesk", "notify")
    assert arguments["x-queue-type"] == "quorum"
    assert arguments["x-dead-letter-exchange"] == "helpdesk.events.dlx"
    assert arguments["x-dead-letter-routing-key"] == "helpdesk.notify.dlq"
    assert arguments["x-delivery-limit"] > 0
