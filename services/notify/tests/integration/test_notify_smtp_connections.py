"""The SMTP sender's persistent connections against a real SMTP server (aiosmtpd).

The server notes the client socket (peer) of every accepted mail, so the connections are counted
where they arrive, not by trusting the client.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from helpdesk_notify.adapters.smtp import DeliveryError, SmtpSender
from helpdesk_notify.adapters.smtp_pool import CHECK_AFTER_IDLE_SECONDS
from helpdesk_notify.bootstrap import smtp_sender
from helpdesk_notify.domain.mail import Mail
from helpdesk_notify.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class CountingServer:
    """An aiosmtpd server that can be stopped and started again on the same port, refuses
    `unknown-*` (550) and `busy-*` (451) mailboxes, and can be told to answer NOOP or RSET badly."""

    port: int = field(default_factory=free_port)
    timeout: float = 300
    peers: list[Any] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    noop_reply: str = "250 OK"
    rset_reply: str = "250 OK"
    controller: Controller | None = None

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("unknown-"):
            return "550 5.1.1 No such mailbox"
        if address.startswith("busy-"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.peers.append(session.peer)
        self.recipients.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"

    async def handle_NOOP(self, server: Any, session: Any, envelope: Any, arg: str) -> str:  # noqa: N802
        return self.noop_reply

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        return self.rset_reply

    @property
    def connections(self) -> int:
        """Distinct client connections that carried at least one mail."""
        return len(set(self.peers))

    def start(self) -> None:
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, timeout=self.timeout
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def server() -> Iterator[CountingServer]:
    counting = CountingServer()
    counting.start()
    try:
        yield counting
    finally:
        counting.stop()


@pytest.fixture
async def sender(server: CountingServer) -> AsyncIterator[SmtpSender]:
    smtp = SmtpSender(
        host="127.0.0.1", port=server.port, sender="helpdesk@helpdesk.local", timeout=5
    )
    try:
        yield smtp
    finally:
        await smtp.close()


def mail(recipient: str | None = None) -> Mail:
    token = uuid.uuid4().hex[:8]
    return Mail(
        recipient=recipient or f"user-{token}@ac-paris.fr",
        subject=f"[INC-2026-{token}] Test",
        text="Bonjour\n",
        html="<p>Bonjour</p>\n",
        message_id=f"<{token}@helpdesk.local>",
        in_reply_to=None,
        references=(),
    )


async def test_many_mails_go_over_fewer_connections_than_mails(
    server: CountingServer, sender: SmtpSender
) -> None:
    for _ in range(10):
        await sender.send(mail())
    assert server.connections == 1

    await asyncio.gather(*(sender.send(mail()) for _ in range(40)))  # 40 at once, 4 connections
    assert len(server.recipients) == 50
    assert server.connections <= 4
    assert sender.connections_opened == server.connections


async def test_after_the_server_restarts_the_next_mail_goes_over_a_new_connection(
    server: CountingServer, sender: SmtpSender
) -> None:
    await asyncio.gather(*(sender.send(mail()) for _ in range(8)))  # a few pooled connections
    before = sender.connections_opened
    server.stop()
    with pytest.raises(DeliveryError) as down:
        await sender.send(mail())
    assert not down.value.permanent
    server.start()  # same port

    after_restart = mail()
    await sender.send(after_restart)
    assert server.recipients[-1] == after_restart.recipient
    assert sender.connections_opened == before + 1


async def test_a_connection_the_server_closed_when_idle_is_replaced() -> None:
    server = CountingServer(timeout=0.3)  # the server drops connections idle for 0.3 s
    server.start()
    sender = SmtpSender(host="127.0.0.1", port=server.port, sender="h@helpdesk.local", timeout=5)
    try:
        await sender.send(mail())
        await asyncio.sleep(0.8)
        await sender.send(mail())
        assert len(server.recipients) == 2
        assert server.connections == 2
    finally:
        await sender.close()
        server.stop()


async def test_a_connection_that_fails_noop_after_idling_is_replaced(
    server: CountingServer, sender: SmtpSender
) -> None:
    await sender.send(mail())
    server.noop_reply = "421 4.3.2 Service shutting down"
    await asyncio.sleep(CHECK_AFTER_IDLE_SECONDS + 0.2)
    await sender.send(mail())
    assert len(server.recipients) == 2
    assert sender.connections_opened == 2


async def test_a_refused_mail_keeps_its_classification_and_the_connection_after_rset(
    server: CountingServer, sender: SmtpSender
) -> None:
    with pytest.raises(DeliveryError) as unknown:
        await sender.send(mail("unknown-x@ac-paris.fr"))
    assert unknown.value.permanent
    with pytest.raises(DeliveryError) as busy:
        await sender.send(mail("busy-x@ac-paris.fr"))
    assert not busy.value.permanent
    await sender.send(mail())
    assert len(server.recipients) == 1
    assert sender.connections_opened == 1  # reset, then reused


async def test_a_connection_whose_rset_fails_after_a_refusal_is_not_reused(
    server: CountingServer, sender: SmtpSender
) -> None:
    server.rset_reply = "451 4.3.0 Confused"
    with pytest.raises(DeliveryError):
        await sender.send(mail("unknown-y@ac-paris.fr"))
    server.rset_reply = "250 OK"
    await sender.send(mail())
    assert len(server.recipients) == 1
    assert sender.connections_opened == 2


class StallingServer(CountingServer):
    """Accepts the envelope, then keeps the client waiting for the reply to DATA until released
    (a mail server that hangs mid-conversation)."""

    released: threading.Event

    def __init__(self) -> None:
        super().__init__()
        self.released = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.to_thread(self.released.wait)  # the server's loop runs in its own thread
        return "250 Message accepted for delivery"


async def test_a_server_that_stalls_fails_the_send_once_the_smtp_timeout_fires() -> None:
    """`SMTP_TIMEOUT`: a mail server that never answers DATA is a passing failure (the consumer
    retries it later), not a consumer stuck for ever."""
    server = StallingServer()
    server.start()
    sender = smtp_sender(Settings(smtp_host="127.0.0.1", smtp_port=server.port, smtp_timeout=0.3))
    try:
        with pytest.raises(DeliveryError) as stalled:
            await sender.send(mail())
        assert not stalled.value.permanent
        assert "Timeout" in str(stalled.value)
    finally:
        server.released.set()
        await sender.close()
        server.stop()
