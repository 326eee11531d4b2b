"""`python -m helpdesk_ticket`: serve the ticket service on the configured host and port."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from helpdesk_shared.http.serve import serve
from helpdesk_ticket.bootstrap import build_app
from helpdesk_ticket.settings import Settings


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until stopped; the settings come from the environment (`--help` only answers)."""
    argparse.ArgumentParser(prog="python -m helpdesk_ticket", description=__doc__).parse_args(argv)
    settings = Settings()
    serve("ticket", build_app(settings), settings, settings.ticket_host, settings.ticket_port)


if __name__ == "__main__":
    main()
