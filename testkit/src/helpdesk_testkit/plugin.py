"""Pytest fixtures for every package: a migrated database and broker names of their own per run.

Loaded for the whole repository by `-p helpdesk_testkit.plugin` in the root pytest config.
Nothing here is mocked: fixtures hand out real PostgreSQL databases and real RabbitMQ names.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.migrations import upgrade_all
from helpdesk_testkit.servers import (
    ServerMissing,
    create_database,
    drop_database,
    postgres_server,
    rabbitmq_server,
    require_reachable,
    run,
    with_database,
)
from helpdesk_testkit.tracing import recorded_spans

__all__ = ["recorded_spans"]


@pytest.fixture(scope="session")
def run_id() -> str:
    """A short id naming this run's databases, exchange and queues."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    with postgres_server() as url:
        try:
            require_reachable("PostgreSQL", url)
        except ServerMissing as missing:
            pytest.exit(str(missing), returncode=3)
        yield url


@pytest.fixture(scope="session")
def migrated_template(postgres_admin_url: str, run_id: str) -> Iterator[str]:
    """A database with every migration applied, copied for each database the tests use."""
    name = f"helpdesk_tpl_{run_id}"
    run(create_database(postgres_admin_url, name))
    try:
        upgrade_all(with_database(postgres_admin_url, name))
        yield name
    finally:
        run(drop_database(postgres_admin_url, name))


@pytest.fixture(scope="session")
def database_url(postgres_admin_url: str, migrated_template: str, run_id: str) -> Iterator[str]:
    """This run's database, shared by the tests of the session."""
    name = f"helpdesk_test_{run_id}"
    run(create_database(postgres_admin_url, name, template=migrated_template))
    try:
        yield with_database(postgres_admin_url, name)
    finally:
        run(drop_database(postgres_admin_url, name))


@pytest.fixture
def fresh_database_url(postgres_admin_url: str, migrated_template: str) -> Iterator[str]:
    """A database of its own for a test that needs an empty log."""
    name = f"helpdesk_t_{uuid.uuid4().hex[:12]}"
    run(create_database(postgres_admin_url, name, template=migrated_template))
    try:
        yield with_database(postgres_admin_url, name)
    finally:
        run(drop_database(postgres_admin_url, name))


@pytest.fixture
def empty_database_url(postgres_admin_url: str) -> Iterator[str]:
    """A database of its own with nothing migrated, for a test of the migrations themselves."""
    name = f"helpdesk_e_{uuid.uuid4().hex[:12]}"
    run(create_database(postgres_admin_url, name))
    try:
        yield with_database(postgres_admin_url, name)
    finally:
        run(drop_database(postgres_admin_url, name))


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    with rabbitmq_server() as url:
        try:
            require_reachable("RabbitMQ", url)
        except ServerMissing as missing:
            pytest.exit(str(missing), returncode=3)
        yield url


@pytest.fixture(scope="session")
def exchange_name(run_id: str) -> str:
    return f"helpdesk.events.test-{run_id}"


@pytest.fixture(scope="session")
def queue_prefix(run_id: str) -> str:
    return f"test-{run_id}"


@pytest.fixture(scope="session")
def service_env(
    database_url: str, amqp_url: str, exchange_name: str, queue_prefix: str
) -> dict[str, str]:
    """The environment a service started by a test needs to join this run."""
    return {
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_url,
        "HELPDESK_EXCHANGE": exchange_name,
        "HELPDESK_QUEUE_PREFIX": queue_prefix,
        "HELPDESK_JWT_SECRET": "test-secret-for-this-run-only-0123456789",
        "HELPDESK_JWT_ALGORITHM": "HS256",
        "LOG_JSON": "false",
    }


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url, pool_size=5, application_name="helpdesk-tests")
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
async def event_store(engine: AsyncEngine) -> EventStore:
    return EventStore(engine)
