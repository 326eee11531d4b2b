"""The notify benchmark's baseline: the same SMTP server fed by aiosmtplib alone.

The same number of mails, at the same steady rate and then in a burst, each a small text mail
built once and sent over one persistent connection: what handing mails to that server costs with
nothing in front of it (no event store, relay, broker, ledger, templates or MIME building), so
notify's rows read as a ratio to it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from email.message import EmailMessage

import aiosmtplib

SENDER = "helpdesk@helpdesk.local"


def plain_mail(ticket_id: uuid.UUID) -> bytes:
    """A minimal mail whose Message-ID the bench's SMTP handler recognises as a ticket's."""
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = "requester@ac-paris.fr"
    message["Subject"] = "Ticket"
    message["Message-ID"] = f"<ticket-{ticket_id}@helpdesk.local>"
    message.set_content("Votre demande est enregistrée.")
    return message.as_bytes()


class PlainSender:
    """Sends prepared mails over one connection and notes when each was handed over."""

    def __init__(self, port: int) -> None:
        self._client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        self._lock = asyncio.Lock()
        self.sent_at: dict[uuid.UUID, float] = {}

    async def __aenter__(self) -> PlainSender:
        await self._client.connect()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.quit()

    async def send(self) -> None:
        ticket_id = uuid.uuid4()
        mail = plain_mail(ticket_id)
        async with self._lock:  # one SMTP transaction at a time on the connection
            self.sent_at[ticket_id] = time.time()
            await self._client.sendmail(SENDER, ["requester@ac-paris.fr"], mail)

    async def steady(self, rate: int, seconds: float) -> tuple[set[uuid.UUID], float]:
        """`rate` mails a second for `seconds`: their ids and the time the last one took."""
        before = set(self.sent_at)
        total = int(rate * seconds)
        started = time.monotonic()
        for n in range(total):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            await self.send()
        return set(self.sent_at) - before, time.monotonic() - started

    async def burst(self, count: int) -> tuple[set[uuid.UUID], float]:
        """`count` mails queued at once: their ids and the time until the last was accepted."""
        before = set(self.sent_at)
        started = time.monotonic()
        await asyncio.gather(*(self.send() for _ in range(count)))
        return set(self.sent_at) - before, time.monotonic() - started
