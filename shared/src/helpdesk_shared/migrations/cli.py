"""`helpdesk-migrate`: create the DATABASE_URL database if needed and bring it up to date."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

import asyncpg

from helpdesk_shared.db import asyncpg_dsn
from helpdesk_shared.migrations import upgrade_all
from helpdesk_shared.settings import CommonSettings


async def ensure_database(database_url: str) -> bool:
    """Create the database if the server does not have it yet; True when it was created."""
    dsn = asyncpg_dsn(database_url)
    name = urlsplit(dsn).path.lstrip("/")
    admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        await admin.execute(f'CREATE DATABASE "{name}"')
        return True
    finally:
        await admin.close()


def main(argv: Sequence[str] | None = None) -> None:
    argparse.ArgumentParser(
        prog="helpdesk-migrate",
        description="Create the DATABASE_URL database if needed and apply every migration set "
        "(the event store's, then each service's). Idempotent.",
    ).parse_args(argv)
    url = CommonSettings().database_url
    try:
        if asyncio.run(ensure_database(url)):
            print(f"created database {urlsplit(url).path.lstrip('/')}")
        applied = upgrade_all(url)
    except OSError as error:
        sys.exit(f"helpdesk-migrate: cannot reach PostgreSQL at {url}: {error}")
    print("migrated:", ", ".join(applied))


if __name__ == "__main__":
    main()
