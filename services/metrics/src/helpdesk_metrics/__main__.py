"""`python -m helpdesk_metrics`: serve the metrics service on the configured host and port."""

from __future__ import annotations

from helpdesk_metrics.bootstrap import build_app
from helpdesk_metrics.settings import Settings
from helpdesk_shared.http.serve import serve


def main() -> None:
    settings = Settings()
    serve("metrics", build_app(settings), settings, settings.metrics_host, settings.metrics_port)


if __name__ == "__main__":
    main()
