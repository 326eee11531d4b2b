"""Sending a rendered mail over SMTP with aiosmtplib, over a few reused connections.

Failures are sorted into passing ones (server down, timeout, 4xx: retry later) and permanent ones
(5xx refusals, such as an unknown mailbox: retrying cannot help), so the ledger records which is
which and a refused address never blocks the queue.
"""

from __future__ import annotations

from email.utils import parseaddr

import aiosmtplib

from helpdesk_notify.adapters.mime import header, mail_bytes
from helpdesk_notify.adapters.smtp_pool import SmtpConnections
from helpdesk_notify.application.ports import DeliveryError
from helpdesk_notify.domain.mail import Mail
from helpdesk_shared.telemetry import SpanKind, span

__all__ = ["DeliveryError", "SmtpSender"]


class SmtpSender:
    """The `Mailer` port on SMTP: hands mails to one SMTP server (a relay, or Mailpit/aiosmtpd
    locally) over at most `connections` persistent connections; `close()` ends them."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        timeout: float = 10.0,
        username: str | None = None,
        password: str | None = None,
        start_tls: bool = False,
        connections: int = 4,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._from_header = header("From", sender)
        self._timeout = timeout
        self._username = username
        self._password = password
        self._start_tls = start_tls
        self._connections = SmtpConnections(self._client, size=connections, timeout=timeout)

    @property
    def connections_opened(self) -> int:
        """SMTP connections opened since this sender was made."""
        return self._connections.opened

    async def close(self) -> None:
        await self._connections.close()

    def _client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            timeout=self._timeout,
            username=self._username,
            password=self._password,
            start_tls=self._start_tls,
        )

    def content(self, mail: Mail) -> bytes:
        """The MIME message: text and HTML alternatives, thread headers, auto-generated
        (`mime.py`: written directly, the bytes `EmailMessage` would write)."""
        return mail_bytes(mail, self._from_header)

    async def send(self, mail: Mail) -> str:
        """Send `mail`; returns the server's reply. Raises `DeliveryError` when not accepted.

        A span of the trace being handled (a refusal is recorded on it)."""
        attributes: dict[str, str | int] = {"server.address": self._host, "server.port": self._port}
        with span("smtp.send", kind=SpanKind.CLIENT, attributes=attributes):
            return await self._send(mail)

    async def _send(self, mail: Mail) -> str:
        content = self.content(mail)
        try:
            async with self._connections.connection() as client:
                refused, reply = await client.sendmail(
                    parseaddr(self._sender)[1], [mail.recipient], content
                )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [r.code for r in error.recipients]
            permanent = all(code >= 500 for code in codes)
            raise DeliveryError(f"recipient refused: {error}", permanent=permanent) from error
        except aiosmtplib.SMTPResponseException as error:
            permanent = error.code >= 500
            raise DeliveryError(
                f"SMTP {error.code}: {error.message}", permanent=permanent
            ) from error
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise DeliveryError(f"SMTP unavailable: {error!r}", permanent=False) from error
        if refused:
            raise DeliveryError(f"recipient refused: {refused}", permanent=True)
        return reply

    async def ping(self) -> None:
        """Connect and say NOOP: raises when the server does not answer."""
        client = aiosmtplib.SMTP(hostname=self._host, port=self._port, timeout=self._timeout)
        async with client:
            await client.noop()
