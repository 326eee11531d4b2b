"""A subscriber to the helpdesk's events, as another DSI system would write one.

It binds its own durable quorum queue to the `helpdesk.events` topic exchange, then catches up
with `GET /v1/events` from the cursor saved in a file, then consumes from its queue. Each event is
handled once, in the log's order: the cursor is the `sequence` of the last event handled (saved
after each one), and anything at or before it is skipped.

Why duplicates show up across the switch, and how they are recognised: the queue is bound before
the catch-up starts, so that nothing published meanwhile is lost; everything published since the
binding (and, for a queue that already existed, everything published while the subscriber was
down) is therefore in the queue although the catch-up may have handled it already. The relay also
publishes at least once. Such a message has a `sequence` <= the cursor (the primary test) and an
event id handled recently (a second one, kept in memory).

Only `aio-pika`, `httpx` and the CloudEvents SDK are needed: run it with `--help`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import rabbitmq
from cloudevents.core.formats.json import JSONFormat

FORMAT = JSONFormat()
#: How many recently handled event ids are remembered to recognise duplicates.
RECENT_IDS = 10_000

Handler = Callable[[BaseCloudEvent], None]


def routing_key(event: BaseCloudEvent) -> str:
    """The routing key the relay publishes `event` with: `<category>.<snake_case type>`, the
    category being the stream's (`subject` `ticket-<id>`), its prefix dropped from the type."""
    category = str(event.get_subject() or "").partition("-")[0]
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", event.get_type()).lower()
    snake = snake.removeprefix(category + "_")
    return f"{category}.{snake}"


def topic_matches(binding: str, key: str) -> bool:
    """AMQP topic matching (`*` one word, `#` zero or more): the catch-up keeps what the queue's
    bindings would have delivered, so the handler sees the same events on both paths."""
    return _match(binding.split("."), key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    return bool(words) and head in ("*", words[0]) and _match(rest, words[1:])


class Subscriber:
    """Catch up, then consume; one cursor file; `handle` is called once per event, in order."""

    def __init__(self, options: argparse.Namespace, handle: Handler) -> None:
        self.options = options
        self.handle = handle
        self.cursor_file = Path(options.cursor_file)
        self.cursor = self.cursor_file.read_text().strip() if self.cursor_file.exists() else ""
        self.recent: deque[str] = deque(maxlen=RECENT_IDS)
        self.stopping = asyncio.Event()

    def offer(self, event: BaseCloudEvent) -> bool:
        """Handle `event` unless it was already: True when handled."""
        sequence, event_id = str(event.get_extension("sequence")), event.get_id()
        if sequence <= self.cursor or event_id in self.recent:
            return False
        self.handle(event)
        self.recent.append(event_id)
        self.cursor = sequence
        temporary = self.cursor_file.with_suffix(".tmp")
        temporary.write_text(sequence)
        temporary.replace(self.cursor_file)  # atomic: the file holds one cursor or the other
        return True

    def wanted(self, event: BaseCloudEvent) -> bool:
        return any(topic_matches(b, routing_key(event)) for b in self.options.binding)

    async def catch_up(self) -> None:
        """Every page of `/v1/events` after the cursor, until a short page (the end for now)."""
        headers = {"Authorization": f"Bearer {self.options.token}"}
        limit = self.options.page_size
        async with httpx.AsyncClient(base_url=self.options.events_url, timeout=30) as http:
            while not self.stopping.is_set():
                params = {"after": self.cursor, "limit": limit}
                response = await http.get("/v1/events", params=params, headers=headers)
                response.raise_for_status()
                page = json.loads(response.content)
                for document in page:
                    event = FORMAT.read(None, json.dumps(document).encode())
                    if self.wanted(event):
                        self.offer(event)
                if len(page) < limit:
                    return

    async def run(self) -> None:
        connection = await aio_pika.connect_robust(self.options.amqp_url)
        async with connection:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=100)
            exchange = await channel.declare_exchange(
                self.options.exchange, aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(
                self.options.queue, durable=True, arguments={"x-queue-type": "quorum"}
            )
            for binding in self.options.binding:  # bound first: nothing published is lost
                await queue.bind(exchange, binding)
            await self.catch_up()
            await self.consume(queue)

    async def consume(self, queue: aio_pika.abc.AbstractQueue) -> None:
        async with queue.iterator() as messages:
            stop = asyncio.ensure_future(self.stopping.wait())
            while not self.stopping.is_set():
                following = asyncio.ensure_future(anext(messages))
                await asyncio.wait({following, stop}, return_when=asyncio.FIRST_COMPLETED)
                if not following.done():
                    following.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                        await following
                    break
                message = following.result()
                raw = rabbitmq.RabbitMQMessage(
                    headers={str(k): str(v) for k, v in (message.headers or {}).items()},
                    content_type=message.content_type,
                    body=message.body,
                )
                self.offer(rabbitmq.from_rabbitmq(raw, FORMAT))
                await message.ack()  # after the cursor is saved: a crash re-delivers, skipped


def print_event(out: Any) -> Handler:
    """The example's handler: one JSON line per event (replace it with your own)."""

    def handle(event: BaseCloudEvent) -> None:
        line = {
            "id": event.get_id(),
            "type": event.get_type(),
            "subject": event.get_subject(),
            "sequence": event.get_extension("sequence"),
            "data": event.get_data(),
        }
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        out.flush()

    return handle


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Subscribe to the helpdesk's events: catch up through GET /v1/events from "
        "a saved cursor, then consume from an own quorum queue on the topic exchange.",
    )
    env = os.environ.get
    parser.add_argument("--amqp-url", default=env("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
    parser.add_argument("--exchange", default=env("HELPDESK_EXCHANGE", "helpdesk.events"))
    parser.add_argument("--queue", default="dsi-subscriber", help="this subscriber's own queue")
    parser.add_argument(
        "--binding", action="append", help="routing keys to bind (repeatable; ticket.#)"
    )
    parser.add_argument("--events-url", default=env("HELPDESK_EVENTS_URL", "http://127.0.0.1:8002"))
    parser.add_argument(
        "--token", default=env("HELPDESK_TOKEN", ""), help="a bearer token of role service"
    )
    parser.add_argument("--cursor-file", default="subscriber.cursor")
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--output", help="append the events (JSON lines) here; default stdout")
    options = parser.parse_args(argv)
    options.binding = options.binding or ["ticket.#"]
    return options


async def main(options: argparse.Namespace, handle: Handler) -> None:
    """Run until SIGINT or SIGTERM, which stop it between two events (the cursor saved)."""
    subscriber = Subscriber(options, handle)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, subscriber.stopping.set)
    runner = asyncio.ensure_future(subscriber.run())
    stop = asyncio.ensure_future(subscriber.stopping.wait())
    await asyncio.wait({runner, stop}, return_when=asyncio.FIRST_COMPLETED)
    if not runner.done():  # stopped during the catch-up: between two events, the cursor is saved
        await asyncio.wait({runner}, timeout=10)
        runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner
    stop.cancel()


def cli(argv: list[str] | None = None) -> None:
    options = parse_args(argv)
    if options.output is None:
        asyncio.run(main(options, print_event(sys.stdout)))
        return
    with open(options.output, "a", encoding="utf-8") as out:
        asyncio.run(main(options, print_event(out)))


if __name__ == "__main__":
    cli()
