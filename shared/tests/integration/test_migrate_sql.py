"""`helpdesk-migrate --sql` prints every set's DDL for a DBA, and touches no database.

The printed script, run as it is on an empty database, makes the schema the online upgrade makes.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg

from helpdesk_shared.db import asyncpg_dsn
from helpdesk_shared.migrations import all_migration_sets, upgrade_all
from helpdesk_testkit.schema import schema_of
from helpdesk_testkit.servers import create_database, drop_database, run, with_database

MIGRATE = Path(sys.executable).parent / "helpdesk-migrate"


def _printed_sql(database_url: str) -> str:
    done = subprocess.run(
        [str(MIGRATE), "--sql"],
        env=os.environ | {"DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def _exists(admin_url: str, name: str) -> bool:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


def test_sql_prints_every_set_without_the_database(postgres_admin_url: str) -> None:
    missing = f"helpdesk_absent_{uuid.uuid4().hex[:12]}"
    try:
        sql = _printed_sql(with_database(postgres_admin_url, missing))
        assert not asyncio.run(_exists(postgres_admin_url, missing))
    finally:
        run(drop_database(postgres_admin_url, missing))
    assert "CREATE TABLE eventstore.events" in sql
    assert "CREATE TRIGGER events_append_only" in sql
    for migration_set in all_migration_sets():
        assert f"-- migration set {migration_set.name} " in sql
        table = f"{migration_set.schema}.{migration_set.version_table}"
        assert f"CREATE TABLE {table}" in sql
        assert f"INSERT INTO {table}" in sql


def test_the_printed_sql_makes_the_schema_the_upgrade_makes(
    postgres_admin_url: str, empty_database_url: str
) -> None:
    asyncio.run(_execute(empty_database_url, _printed_sql(empty_database_url)))
    by_hand = schema_of(empty_database_url)
    online = f"helpdesk_online_{uuid.uuid4().hex[:12]}"
    run(create_database(postgres_admin_url, online))
    try:
        upgrade_all(with_database(postgres_admin_url, online))
        assert by_hand == schema_of(with_database(postgres_admin_url, online))
    finally:
        run(drop_database(postgres_admin_url, online))


async def _execute(database_url: str, sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def test_downgrade_takes_one_set_down_and_migrate_brings_it_back(empty_database_url: str) -> None:
    database = empty_database_url
    upgrade_all(database)
    at_head = schema_of(database)
    env = os.environ | {"DATABASE_URL": database}
    done = subprocess.run(
        [str(MIGRATE), "--downgrade", "intake", "base"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    at_base = schema_of(database)
    assert not [v for v in at_base["versions"] if v[0] == "intake"]
    assert [v for v in at_base["versions"] if v[0] == "ticket"] == [
        v for v in at_head["versions"] if v[0] == "ticket"
    ]
    subprocess.run([str(MIGRATE)], env=env, capture_output=True, check=True)
    assert schema_of(database) == at_head
