"""`python -m helpdesk_ticket`: serve the ticket service on the configured host and port."""

from __future__ import annotations

from helpdesk_shared.http.serve import serve
from helpdesk_ticket.bootstrap import build_app
from helpdesk_ticket.settings import Settings


def main() -> None:
    settings = Settings()
    serve("ticket", build_app(settings), settings, settings.ticket_host, settings.ticket_port)


if __name__ == "__main__":
    main()
