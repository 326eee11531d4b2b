"""A local SMTP catcher: accepts every mail and keeps it as an .eml file you can list and open.

`make up` starts it (unless `SMTP_HOST`/`SMTP_PORT` point at a real server) so that the notify
service sends real SMTP and nobody receives a mail by mistake. With a Docker engine, Mailpit in
`docker-compose.yml` plays the same part.

    python -m deploy.local.mailcatcher serve --port 1025 --dir .run/mail
    python -m deploy.local.mailcatcher list --dir .run/mail
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class StoreAsEml:
    """aiosmtpd handler writing each message to `<dir>/<time>-<id>.eml` (atomically)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        header = (
            f"X-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        partial = self.directory / f".{name}.part"
        partial.write_bytes(header + content)
        partial.rename(self.directory / name)
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class CaughtMail:
    """A stored mail, summarised for `list`."""

    path: Path
    sender: str
    recipients: str
    subject: str


def list_mails(directory: Path) -> list[CaughtMail]:
    """The stored mails, oldest first."""
    mails = []
    for path in sorted(directory.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        mails.append(
            CaughtMail(
                path=path,
                sender=str(message.get("From", message.get("X-Envelope-From", ""))),
                recipients=str(message.get("To", message.get("X-Envelope-To", ""))),
                subject=str(message.get("Subject", "")),
            )
        )
    return mails


async def serve(host: str, port: int, directory: Path) -> None:
    """Serve until SIGTERM or SIGINT."""
    controller = Controller(StoreAsEml(directory), hostname=host, port=port)
    controller.start()
    print(f"SMTP catcher listening on {host}:{port}, storing mails in {directory}", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    try:
        await stopped.wait()
    finally:
        controller.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.mailcatcher")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="accept mails and store them as .eml files")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=1025)
    serve_cmd.add_argument("--dir", type=Path, default=Path(".run/mail"))
    list_cmd = commands.add_parser("list", help="list the stored mails")
    list_cmd.add_argument("--dir", type=Path, default=Path(".run/mail"))
    args = parser.parse_args(argv)
    if args.command == "serve":
        asyncio.run(serve(args.host, args.port, args.dir))
        return 0
    mails = list_mails(args.dir)
    for mail in mails:
        print(f"{mail.path.name}  from {mail.sender}  to {mail.recipients}  {mail.subject}")
    print(f"{len(mails)} mail(s) in {args.dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
