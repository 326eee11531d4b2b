"""`python -m helpdesk_ticket`: serve the ticket API on the configured host and port."""

from __future__ import annotations

import uvicorn

from helpdesk_ticket.bootstrap import build_app
from helpdesk_ticket.settings import Settings


def main() -> None:
    settings = Settings()
    uvicorn.run(build_app(settings), host=settings.ticket_host, port=settings.ticket_port)


if __name__ == "__main__":
    main()
