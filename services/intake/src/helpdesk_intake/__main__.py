"""`python -m helpdesk_intake`: serve the intake API on the configured host and port."""

from __future__ import annotations

import uvicorn

from helpdesk_intake.bootstrap import build_app
from helpdesk_intake.settings import Settings


def main() -> None:
    settings = Settings()
    uvicorn.run(build_app(settings), host=settings.intake_host, port=settings.intake_port)


if __name__ == "__main__":
    main()
