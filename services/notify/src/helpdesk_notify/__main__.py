"""`python -m helpdesk_notify`: serve the notify service on the configured host and port."""

from __future__ import annotations

from helpdesk_notify.bootstrap import build_app
from helpdesk_notify.settings import Settings
from helpdesk_shared.http.serve import serve


def main() -> None:
    settings = Settings()
    serve("notify", build_app(settings), settings, settings.notify_host, settings.notify_port)


if __name__ == "__main__":
    main()
