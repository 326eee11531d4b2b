"""Check that PostgreSQL and RabbitMQ answer before anything starts; say how to fix it if not."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.servers import ServerMissing, require_reachable


def main(argv: Sequence[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m deploy.local.servers", description=__doc__).parse_args(
        argv
    )
    settings = CommonSettings()
    missing = []
    for name, url in (("PostgreSQL", settings.database_url), ("RabbitMQ", settings.amqp_url)):
        try:
            require_reachable(name, url)
        except ServerMissing as error:
            missing.append(str(error))
    for line in missing:
        print(f"missing: {line}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
