"""`python -m helpdesk_intake`: serve the intake service on the configured host and port."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from helpdesk_intake.bootstrap import build_app
from helpdesk_intake.settings import Settings
from helpdesk_shared.http.serve import serve


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until stopped; the settings come from the environment (`--help` only answers)."""
    argparse.ArgumentParser(prog="python -m helpdesk_intake", description=__doc__).parse_args(argv)
    settings = Settings()
    serve("intake", build_app(settings), settings, settings.intake_host, settings.intake_port)


if __name__ == "__main__":
    main()
