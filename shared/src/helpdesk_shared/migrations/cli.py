"""`helpdesk-migrate`: create the DATABASE_URL database if needed and bring it up to date.

`helpdesk-migrate --sql` prints the SQL instead (every set, from an empty database to its head)
and touches no database: for a DBA to review, or to apply by hand. `--downgrade SET REVISION`
takes one set down (Alembic's downgrade on that set's scripts and version table), or prints
the SQL that would with `--sql`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

import asyncpg

from helpdesk_shared.db import asyncpg_dsn
from helpdesk_shared.migrations import all_migration_sets, migration_set_named, upgrade_all
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helpdesk-migrate",
        description="Create the DATABASE_URL database if needed and apply every migration set "
        "(the event store's, then each service's). Idempotent.",
    )
    parser.add_argument(
        "--sql",
        action="store_true",
        help="print the SQL (of every set, from an empty database to head; or of --downgrade, "
        "from head) instead of running it; connects to no database, which need not exist",
    )
    parser.add_argument(
        "--downgrade",
        nargs=2,
        metavar=("SET", "REVISION"),
        help="take one migration set down to REVISION ('base': none of it); take the services' "
        "sets down before the shared one",
    )
    return parser


def downgrade(database_url: str, set_name: str, revision: str, *, sql: bool) -> None:
    """Take one set down to `revision`, or print the SQL that would (from its head)."""
    try:
        migration_set = migration_set_named(set_name)
    except KeyError as unknown:
        sys.exit(f"helpdesk-migrate: {unknown.args[0]}")
    if sql:
        migration_set.downgrade_sql(database_url, sys.stdout, revision)
        return
    try:
        migration_set.downgrade(database_url, revision)
    except OSError as error:
        sys.exit(f"helpdesk-migrate: cannot reach PostgreSQL at {database_url}: {error}")
    print(f"downgraded {set_name} to {revision}")


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    url = CommonSettings().database_url
    if args.downgrade:
        downgrade(url, *args.downgrade, sql=args.sql)
        return
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
