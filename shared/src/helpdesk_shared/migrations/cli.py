"""`helpdesk-migrate`: create the DATABASE_URL database if needed and bring it up to date.

`helpdesk-migrate --sql` prints the SQL instead (every set, from an empty database to its head)
and touches no database: for a DBA to review, or to apply by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

import asyncpg

from helpdesk_shared.db import asyncpg_dsn
from helpdesk_shared.migrations import all_migration_sets, upgrade_all
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


def print_sql(database_url: str) -> list[str]:
    """Print every set's upgrade from an empty database as SQL; returns the names printed."""
    printed = []
    for migration_set in all_migration_sets():
        print(f"-- migration set {migration_set.name} (schema {migration_set.schema})")
        sys.stdout.flush()
        migration_set.upgrade_sql(database_url, sys.stdout)
        printed.append(migration_set.name)
    return printed


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="helpdesk-migrate",
        description="Create the DATABASE_URL database if needed and apply every migration set "
        "(the event store's, then each service's). Idempotent.",
    )
    parser.add_argument(
        "--sql",
        action="store_true",
        help="print the SQL of every set (from an empty database to head) instead of running "
        "it; connects to no database, which need not exist",
    )
    args = parser.parse_args(argv)
    url = CommonSettings().database_url
    if args.sql:
        print_sql(url)
        return
    try:
        if asyncio.run(ensure_database(url)):
            print(f"created database {urlsplit(url).path.lstrip('/')}")
        applied = upgrade_all(url)
    except OSError as error:
        sys.exit(f"helpdesk-migrate: cannot reach PostgreSQL at {url}: {error}")
    print("migrated:", ", ".join(applied))


if __name__ == "__main__":
    main()
