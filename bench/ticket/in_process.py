"""`python -m bench.ticket.in_process [--miss]`: the CPU of a ticket command, the app in process.

The ticket app (`build_app`, real PostgreSQL, a scratch database of 500 tickets, no background
tasks: the list projection does not run) is called through raw ASGI by 32 concurrent callers:
no HTTP parsing and no client library, so the process CPU per command is the app's own and the
driver's few microseconds. Prints the median and the lowest of 8 rounds of 1,500 commands. With
`--miss` the state cache holds nothing, so every command loads its ticket from the snapshot
table and the stream (the path of a ticket's first command in a process). On this shared
machine, compare runs of two commits alternated in the same minutes, never single runs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Callable, MutableMapping
from typing import Any

from fastapi import FastAPI

from bench.ticket.support import SECRET, open_tickets, scratch_database
from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.bootstrap import build_app
from helpdesk_ticket.settings import Settings

BODY = json.dumps({"text": "relance"}).encode()


def _scope(ticket: uuid.UUID, token: bytes) -> dict[str, Any]:
    path = f"/v1/tickets/{ticket}/comment"
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "headers": [
            (b"host", b"ticket"),
            (b"authorization", b"Bearer " + token),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(BODY)).encode()),
        ],
        "state": {},
    }


def _caller(app: FastAPI, tickets: list[uuid.UUID], token: bytes, statuses: dict[int, int]) -> Any:
    """One command per call, on the tickets in turn; each answer's status counted."""
    counter = itertools.count()

    async def one() -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": BODY, "more_body": False}
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError("unreachable")

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        ticket = tickets[next(counter) % len(tickets)]
        await app(_scope(ticket, token), receive, send)

    return one


async def _drive(one: Callable[[], Any], total: int, clients: int = 32) -> None:
    left = iter(range(total))

    async def worker() -> None:
        for _ in left:
            await one()

    await asyncio.gather(*(worker() for _ in range(clients)))


async def run(miss: bool, rounds: int = 8, per_round: int = 1500) -> None:
    async with scratch_database() as url:
        engine = create_engine(url, pool_size=10)
        tickets = await open_tickets(EventStore(engine), 500)
        await engine.dispose()
        settings = Settings(
            database_url=url,
            helpdesk_jwt_secret=SECRET,
            log_level="WARNING",
            ticket_background_tasks=False,
            ticket_state_cache_size=0 if miss else 10_000,
        )
        app = build_app(settings)
        token = issue_token(settings, "bench", ["manager"]).encode()
        statuses: dict[int, int] = {}
        one = _caller(app, tickets, token, statuses)
        cpu: list[float] = []
        async with app.router.lifespan_context(app):
            await _drive(one, 600)  # warm-up: one command per ticket at least
            for _ in range(rounds):
                started = time.process_time()
                await _drive(one, per_round)
                cpu.append((time.process_time() - started) / per_round * 1e6)
    cpu.sort()
    print(
        f"{'miss' if miss else 'warm'}: CPU per command median {cpu[len(cpu) // 2]:.0f} us, "
        f"lowest {cpu[0]:.0f} us; answers {statuses}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--miss", action="store_true", help="no state cache: every load misses")
    asyncio.run(run(parser.parse_args().miss))
