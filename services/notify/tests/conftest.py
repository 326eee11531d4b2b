"""Fixtures of notify's tests: a real SMTP server (aiosmtpd) on a free port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MailCatcher:
    """Collects every envelope the SMTP server accepts."""

    port: int
    envelopes: list[Any] = field(default_factory=list)
    controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        found = []
        for envelope in self.envelopes:
            if to is None or to in envelope.rcpt_tos:
                parsed = message_from_bytes(envelope.content, policy=policy.default)
                assert isinstance(parsed, EmailMessage)
                found.append(parsed)
        return found


@pytest.fixture
def smtp_server() -> Iterator[MailCatcher]:
    catcher = MailCatcher(port=free_port())
    catcher.start()
    try:
        yield catcher
    finally:
        catcher.stop()


@pytest.fixture
def smtp_down() -> Iterator[MailCatcher]:
    """A catcher whose server is not started yet: its port refuses connections."""
    catcher = MailCatcher(port=free_port())
    try:
        yield catcher
    finally:
        catcher.stop()
