"""The relay learns the consumers' queues from `RELAY_CONSUMERS`: shared hard-codes none."""

from __future__ import annotations

import pytest

from helpdesk_shared.messaging.topology import ConsumerQueue
from helpdesk_shared.relay.__main__ import RelaySettings


def test_relay_consumers_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "RELAY_CONSUMERS", '{"notify": ["ticket.#"], "metrics": ["ticket.#", "call.#"]}'
    )
    assert RelaySettings().consumer_queues() == (
        ConsumerQueue("notify", ("ticket.#",)),
        ConsumerQueue("metrics", ("ticket.#", "call.#")),
    )


def test_without_relay_consumers_only_the_exchange_is_declared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RELAY_CONSUMERS", raising=False)
    assert RelaySettings().consumer_queues() == ()
