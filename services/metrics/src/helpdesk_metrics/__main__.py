"""`python -m helpdesk_metrics`: serve the metrics service on the configured host and port."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from helpdesk_metrics.bootstrap import build_app
from helpdesk_metrics.settings import Settings
from helpdesk_shared.http.serve import serve


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until stopped; the settings come from the environment (`--help` only answers)."""
    argparse.ArgumentParser(prog="python -m helpdesk_metrics", description=__doc__).parse_args(argv)
    settings = Settings()
    serve("metrics", build_app(settings), settings, settings.metrics_host, settings.metrics_port)


if __name__ == "__main__":
    main()
