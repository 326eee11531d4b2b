"""`python -m helpdesk_notify`: serve the notify API and run its consumer."""

from __future__ import annotations

import uvicorn

from helpdesk_notify.bootstrap import build_app
from helpdesk_notify.settings import Settings
from helpdesk_shared.logging import configure_logging


def main() -> None:
    settings = Settings()
    configure_logging("notify", settings.log_level, settings.log_json)
    uvicorn.run(
        build_app(settings), host=settings.notify_host, port=settings.notify_port, log_config=None
    )


if __name__ == "__main__":
    main()
