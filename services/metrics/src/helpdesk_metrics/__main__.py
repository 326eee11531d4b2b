"""`python -m helpdesk_metrics`: serve `/v1/kpis` and `/metrics` and run the metrics consumer."""

from __future__ import annotations

import uvicorn

from helpdesk_metrics.bootstrap import build_app
from helpdesk_metrics.settings import Settings
from helpdesk_shared.logging import configure_logging


def main() -> None:
    settings = Settings()
    configure_logging("metrics", settings.log_level, settings.log_json)
    uvicorn.run(
        build_app(settings), host=settings.metrics_host, port=settings.metrics_port, log_config=None
    )


if __name__ == "__main__":
    main()
