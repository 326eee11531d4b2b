"""Every migration set goes down to base and up again, leaving the schema as its first upgrade.

The sets are discovered (`all_migration_sets`), so a service's new set is covered as soon as it
is registered. Each test has a database of its own, brought to head by `upgrade_all` as in
production. A service's set goes down and up with the shared set at head; the shared set goes
down after every service's set, in the reverse order of `upgrade_all`, and with an event stored
(the append-only triggers must not stop the downgrade).
"""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest

from helpdesk_shared.db import asyncpg_dsn
from helpdesk_shared.migrations import SHARED, MigrationSet, all_migration_sets, upgrade_all
from helpdesk_testkit.schema import schema_of, tables_in

MIGRATION_SETS = all_migration_sets()


def test_every_set_is_discovered() -> None:
    assert [m.name for m in MIGRATION_SETS[:1]] == ["shared"]
    assert {"intake", "ticket", "notify", "metrics"} <= {m.name for m in MIGRATION_SETS}


def _going_down(migration_set: MigrationSet) -> list[MigrationSet]:
    """The sets to take down for this one, last applied first: the shared set needs every
    service's set down before it; a service's set goes down alone."""
    if migration_set == SHARED:
        return list(reversed(MIGRATION_SETS))
    return [migration_set]


@pytest.mark.parametrize("migration_set", MIGRATION_SETS, ids=lambda m: m.name)
def test_downgrade_base_then_upgrade_head_gives_the_same_schema(
    migration_set: MigrationSet, empty_database_url: str
) -> None:
    upgrade_all(empty_database_url)
    asyncio.run(_store_an_event(empty_database_url))
    first_upgrade = schema_of(empty_database_url)
    assert tables_in(first_upgrade, migration_set.schema) - {migration_set.version_table}

    going_down = _going_down(migration_set)
    for each in going_down:
        each.downgrade(empty_database_url)
    at_base = schema_of(empty_database_url)
    for each in going_down:
        assert tables_in(at_base, each.schema) == {each.version_table}, each.name
        assert not [v for v in at_base["versions"] if v[1] == each.version_table], each.name

    for each in reversed(going_down):
        each.upgrade(empty_database_url)
    assert schema_of(empty_database_url) == first_upgrade


async def _store_an_event(database_url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute(
            """INSERT INTO eventstore.events (stream_id, version, event_id, type, data)
            VALUES ($1, 1, $2, 'Noted', $3::jsonb)""",
            f"roundtrip-{uuid.uuid4()}",
            uuid.uuid4(),
            json.dumps({"n": 1}),
        )
    finally:
        await conn.close()
