"""Fixtures of the fault suite: private servers (session) and a backend of its own per scenario.

The machine's PostgreSQL and RabbitMQ are shared with other runs and must never be stopped, so
the scenarios break private instances started here (see tests/support/fault_servers.py); every
one of them is stopped in a `finally`, whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SUPPORT = Path(__file__).resolve().parents[1] / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

from aiosmtpd.controller import Controller  # noqa: E402
from deploy.local.stack import SERVICES, running_stack  # noqa: E402
from fault_harness import FaultRun  # noqa: E402
from fault_servers import (  # noqa: E402
    PrivatePostgres,
    PrivateRabbitMQ,
    SwitchableMailbox,
    free_port,
    postgres_available,
    rabbitmq_available,
)
from fault_traffic import Witness  # noqa: E402

from helpdesk_shared.migrations import upgrade_all  # noqa: E402
from helpdesk_testkit.servers import create_database, with_database  # noqa: E402


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    if not postgres_available():
        pytest.skip("no PostgreSQL binaries to start a private server")
    server = PrivatePostgres()
    try:
        server.init_and_start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    if not rabbitmq_available():
        pytest.skip("no RabbitMQ to start a private node")
    server = PrivateRabbitMQ()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def fault_run(
    private_postgres: PrivatePostgres,
    private_rabbitmq: PrivateRabbitMQ,
    service_env: dict[str, str],
    tmp_path: Path,
) -> Iterator[FaultRun]:
    """The relay and the four services on the private servers, a database and names of their own,
    the test's SMTP server, and a witness queue bound before anything is published."""
    with _backend(private_postgres, private_rabbitmq, service_env, tmp_path, 1) as run:
        yield run


@pytest.fixture
def replica_run(
    private_postgres: PrivatePostgres,
    private_rabbitmq: PrivateRabbitMQ,
    service_env: dict[str, str],
    tmp_path: Path,
) -> Iterator[FaultRun]:
    """As `fault_run`, with two replicas of every service behind one address each and two
    relays (`make up REPLICAS=2`)."""
    with _backend(private_postgres, private_rabbitmq, service_env, tmp_path, 2) as run:
        yield run


@contextlib.contextmanager
def _backend(
    private_postgres: PrivatePostgres,
    private_rabbitmq: PrivateRabbitMQ,
    service_env: dict[str, str],
    tmp_path: Path,
    replicas: int,
) -> Iterator[FaultRun]:
    suffix = uuid.uuid4().hex[:8]
    name = f"faults_{suffix}"
    asyncio.run(create_database(private_postgres.admin_url, name))
    database_url = with_database(private_postgres.admin_url, name)
    upgrade_all(database_url)
    mailbox, smtp_port = SwitchableMailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        env = _environment(service_env, database_url, private_rabbitmq.url, suffix, tmp_path)
        env["SMTP_PORT"] = str(smtp_port)
        witness = Witness(
            private_rabbitmq.url,
            env["HELPDESK_EXCHANGE"],
            f"{env['HELPDESK_QUEUE_PREFIX']}.witness",
        )
        asyncio.run(witness.declare())
        run_dir = tmp_path / "run"
        with running_stack(run_dir, env=env, demo=True, timeout=180, replicas=replicas) as stack:
            yield FaultRun(stack, env, database_url, mailbox, witness)
    finally:
        controller.stop()


def _environment(
    service_env: dict[str, str], database_url: str, amqp_url: str, suffix: str, tmp_path: Path
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SMTP_HOST", "SMTP_PORT"}}
    env.update(service_env)
    env.update(
        {
            "DATABASE_URL": database_url,
            "AMQP_URL": amqp_url,
            "HELPDESK_EXCHANGE": f"helpdesk.events.faults-{suffix}",
            "HELPDESK_QUEUE_PREFIX": f"faults-{suffix}",
            "HELPDESK_RUN_DIR": str(tmp_path / "run"),
            "HELPDESK_DEMO": "0",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_CATCHER_PORT": str(free_port()),
            "RELAY_METRICS_PORT": str(free_port()),
        }
    )
    for spec in SERVICES:
        env[f"{spec.name.upper()}_PORT"] = str(free_port())
    return env
