"""`python -m helpdesk_notify`: serve the notify service on the configured host and port."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from helpdesk_notify.bootstrap import build_app
from helpdesk_notify.settings import Settings
from helpdesk_shared.http.serve import serve


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until stopped; the settings come from the environment (`--help` only answers)."""
    argparse.ArgumentParser(prog="python -m helpdesk_notify", description=__doc__).parse_args(argv)
    settings = Settings()
    serve("notify", build_app(settings), settings, settings.notify_host, settings.notify_port)


if __name__ == "__main__":
    main()
