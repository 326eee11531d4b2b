"""The subscriber kit (`examples/subscriber`) against the running backend, as another DSI system.

The relay and the services run as real processes; the subscriber runs as its own process, is
stopped in the middle of a stream of events and started again after more were recorded while it
was down. Some events are recorded before it ever ran: only its catch-up through `/v1/events` can
deliver those. In the end it handled every ticket event of the log once, in the log's order.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import aio_pika
import pytest
from deploy.local.stack import Stack, running_stack

from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import EventMetadata, ExpectedVersion, LogPosition, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.broker import eventually
from helpdesk_ticket.testing import opened

REPO_ROOT = Path(__file__).resolve().parents[1]
SUBSCRIBER = REPO_ROOT / "examples" / "subscriber" / "subscriber.py"


@pytest.fixture
def stack(runner_env: dict[str, str], run_dir: Path) -> Iterator[Stack]:
    with running_stack(run_dir, env=runner_env, timeout=180) as started:
        yield started


class Kit:
    """The example subscriber as a process: its cursor file, its output, its queue."""

    def __init__(self, stack: Stack, env: dict[str, str], directory: Path) -> None:
        self.output = directory / "events.jsonl"
        self.cursor = directory / "subscriber.cursor"
        self.queue = f"{env['HELPDESK_QUEUE_PREFIX']}.dsi-subscriber"
        secret = CommonSettings(helpdesk_jwt_secret=env["HELPDESK_JWT_SECRET"])
        self.env = {**env, "HELPDESK_TOKEN": issue_token(secret, "dsi-subscriber", ["service"])}
        self.argv = [
            sys.executable,
            str(SUBSCRIBER),
            *("--amqp-url", env.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")),
            *("--exchange", env["HELPDESK_EXCHANGE"]),
            *("--queue", self.queue),
            *("--events-url", stack.urls["ticket"]),
            *("--cursor-file", str(self.cursor)),
            *("--output", str(self.output)),
            *("--page-size", "3"),  # several pages per catch-up
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, env=self.env)

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0
        self.process = None

    def handled(self) -> list[dict[str, object]]:
        if not self.output.exists():
            return []
        return [json.loads(line) for line in self.output.read_text().splitlines() if line]


async def _open_tickets(store: EventStore, count: int) -> None:
    for _ in range(count):
        event = opened(at=datetime.now(UTC))
        await store.append(
            f"ticket-{event.ticket_id}",
            ExpectedVersion.NO_STREAM,
            [NewEvent.from_domain(event, EventMetadata(actor="intake"))],
        )


async def test_the_subscriber_catches_up_then_consumes_every_event_once_in_order(
    stack: Stack,
    runner_env: dict[str, str],
    fresh_database_url: str,
    amqp_url: str,
    tmp_path: Path,
) -> None:
    env = {**runner_env, "AMQP_URL": amqp_url}
    kit = Kit(stack, env, tmp_path)
    engine = create_engine(fresh_database_url, pool_size=2, application_name="subscriber-e2e")
    store = EventStore(engine)
    try:
        await _open_tickets(store, 4)  # before the subscriber ever ran: /v1/events only
        kit.start()
        await _open_tickets(store, 4)
        await eventually(lambda: len(kit.handled()) >= 8, within=90, what="the first events")
        # Stopped in the middle of a stream of events; more are recorded while it is down.
        producing = asyncio.create_task(_open_tickets(store, 6))
        await asyncio.sleep(0.05)
        await asyncio.to_thread(kit.stop)
        await producing
        await _open_tickets(store, 4)
        kit.start()
        await _open_tickets(store, 4)

        async def every_ticket_event_handled() -> bool:
            log = await _ticket_log(store)
            return len(log) >= 22 and [h["id"] for h in kit.handled()] == [str(e) for e, _ in log]

        await eventually(every_ticket_event_handled, within=120, what="every ticket event")
        await asyncio.to_thread(kit.stop)
        handled = kit.handled()
        log = await _ticket_log(store)
        assert [h["id"] for h in handled] == [str(e) for e, _ in log]  # once each, in log order
        sequences = [str(h["sequence"]) for h in handled]
        assert sequences == [s for _, s in log]
        assert all(a < b for a, b in pairwise(sequences))
        assert kit.cursor.read_text() == sequences[-1]
    finally:
        if kit.process is not None:
            kit.process.kill()
        await engine.dispose()
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(kit.queue)


async def _ticket_log(store: EventStore) -> list[tuple[object, str]]:
    """(event id, sequence) of every ticket event readable in the log, in the log's order."""
    events = await store.read_all(LogPosition.start(), 100_000)
    return [(e.event_id, e.log_position.sequence) for e in events if e.category == "ticket"]


def test_the_subscriber_kit_answers_help() -> None:
    result = subprocess.run(
        [sys.executable, str(SUBSCRIBER), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--cursor-file" in result.stdout
