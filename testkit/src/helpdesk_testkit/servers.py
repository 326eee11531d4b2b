"""Find the PostgreSQL and RabbitMQ the tests run against, and say clearly when one is missing.

Order of preference: the URLs in `DATABASE_URL` / `AMQP_URL`; else, when a Docker engine answers,
containers started through testcontainers; else the servers on localhost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg

LOCAL_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
LOCAL_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"

HOW_TO_START = {
    "PostgreSQL": (
        "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
        " (install: `apt-get install postgresql`), or set DATABASE_URL"
    ),
    "RabbitMQ": (
        "start it with `rabbitmq-server -detached` (install: `apt-get install rabbitmq-server`),"
        " or set AMQP_URL"
    ),
}


class ServerMissing(RuntimeError):
    """A server the tests need does not answer."""


def docker_engine_available() -> bool:
    """True when a Docker engine (not just the client) answers."""
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means "no engine here"
        return False


def require_reachable(name: str, url: str) -> None:
    """Raise `ServerMissing` with the way to start the server when its port is closed."""
    parts = urlsplit(url.replace("+asyncpg", ""))
    host, port = parts.hostname or "127.0.0.1", parts.port or (5432 if "postgres" in url else 5672)
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as error:
        raise ServerMissing(
            f"{name} is not reachable at {host}:{port} ({error}): {HOW_TO_START[name]}"
        ) from None


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """An admin URL (database `postgres`) of a server the tests may create databases on."""
    if url := os.environ.get("DATABASE_URL"):
        yield with_database(url, "postgres")
        return
    if docker_engine_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="asyncpg") as container:
            yield with_database(container.get_connection_url(), "postgres")
        return
    yield LOCAL_DATABASE_URL


@contextlib.contextmanager
def rabbitmq_server() -> Iterator[str]:
    """An AMQP URL of a broker the tests may declare exchanges and queues on."""
    if url := os.environ.get("AMQP_URL"):
        yield url
        return
    if docker_engine_available():
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:3.13-management") as container:
            params = container.get_connection_params()
            yield f"amqp://guest:guest@{params.host}:{params.port}/"
        return
    yield LOCAL_AMQP_URL


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def create_database(admin_url: str, name: str, template: str | None = None) -> None:
    conn = await asyncpg.connect(admin_url.replace("+asyncpg", ""))
    try:
        clause = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url.replace("+asyncpg", ""))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def run(coro: object) -> None:
    """Run a coroutine from a synchronous fixture (outside the tests' event loop)."""
    asyncio.run(coro)  # type: ignore[arg-type]
