"""`python -m helpdesk_intake`: serve the intake API on the configured host and port."""

from __future__ import annotations

import uvicorn

from helpdesk_intake.bootstrap import build_app
from helpdesk_intake.settings import Settings
from helpdesk_shared.logging import configure_logging


def main() -> None:
    settings = Settings()
    configure_logging("intake", settings.log_level, settings.log_json)
    uvicorn.run(
        build_app(settings),
        host=settings.intake_host,
        port=settings.intake_port,
        log_config=None,  # keep the JSON logging configured above
    )


if __name__ == "__main__":
    main()
