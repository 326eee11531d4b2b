"""One running backend on the private servers, the parts a fault test kills, and the checks.

`FaultRun.verify` waits until the backend settled, then counts: accepted requests and commands
without their event, stored events the witness queue never received, expected mails the SMTP
server never got (or got twice), events the metrics projection did not apply, and whether
`/v1/kpis` equals the figures rebuilt from the store by
`python -m helpdesk_metrics.entrypoints.cli replay`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from deploy.local.processes import is_alive, spawn, tail
from deploy.local.stack import Stack, http_ok
from fault_servers import SwitchableMailbox
from fault_traffic import (
    REQUESTER_EMAIL,
    Figures,
    Traffic,
    Witness,
    eventually,
    mail_key,
    tokens,
)
from sqlalchemy import text

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import LogPosition, RecordedEvent
from helpdesk_shared.eventstore.store import EventStore

SETTLE_SECONDS = 90.0
MAILED_TYPES = {"TicketOpened", "Closed"}


@dataclass
class FaultRun:
    stack: Stack
    env: dict[str, str]
    database_url: str
    mailbox: SwitchableMailbox
    witness: Witness
    baseline: set[str] = field(default_factory=set)
    dead_letters_replayed: int = 0
    started: float = field(default_factory=time.monotonic)

    def traffic(self) -> Traffic:
        return Traffic(dict(self.stack.urls), tokens(self.env["HELPDESK_JWT_SECRET"]))

    @asynccontextmanager
    async def writes_held(self, table: str) -> AsyncIterator[None]:
        """`table`'s writers wait until the block ends (an EXCLUSIVE lock in an open transaction;
        reads go on). A consumer that writes there keeps what it was handed, unacknowledged, for
        as long as the block lasts: a kill inside it lands mid-message whatever the consumer's
        speed, where catching a fast consumer so by sampling the broker is luck."""
        engine = create_engine(self.database_url, pool_size=1, application_name="faults-hold")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))
                try:
                    yield
                finally:
                    await conn.rollback()
        finally:
            await engine.dispose()

    async def kill(self, name: str) -> None:
        """SIGKILL a part (its whole process group): no shutdown code runs."""
        launched = next(p for p in self.stack.launched if p.name == name)
        os.killpg(launched.pid, signal.SIGKILL)
        for process in self.stack.processes:
            if process.pid == launched.pid:
                await asyncio.to_thread(process.wait, 10)
        assert not is_alive(launched)

    async def start(self, name: str) -> None:
        """Start a killed part again, as the runner did, and wait until it is ready."""
        index, old = next((i, p) for i, p in enumerate(self.stack.launched) if p.name == name)
        pid_file = self.stack.run_dir / f"{name}.pid"
        launched, process = spawn(
            name, old.argv, env=self.stack.environments[name], log=old.log, pid_file=pid_file,
            url=old.url, ready_url=old.ready_url,
        )  # fmt: skip
        self.stack.launched[index] = launched
        self.stack.processes.append(process)
        deadline = time.monotonic() + 120
        while launched.ready_url and not http_ok(launched.ready_url):
            # The runner's own child handle says whether it ended, and how. (A check of the
            # command line in `/proc` read it empty for an instant after `Popen` returned,
            # the kernel still loading the program, and called a starting part dead.)
            if (code := process.poll()) is not None:
                ended = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                raise AssertionError(
                    f"{name} died on restart ({ended}); {launched.log}:\n{tail(launched.log)}"
                )
            assert time.monotonic() < deadline, (
                f"{name} not ready again; {launched.log}:\n{tail(launched.log)}"
            )
            await asyncio.sleep(0.3)

    async def stored_events(self) -> list[RecordedEvent]:
        engine = create_engine(self.database_url, pool_size=1, application_name="faults-check")
        try:
            store, events, after = EventStore(engine), [], None
            while page := await store.read_all(after, limit=5000):
                events.extend(page)
                after = page[-1].log_position
            return events
        finally:
            await engine.dispose()

    async def unpublished(self) -> int:
        """Events stored after the relay's checkpoint: stored, not (confirmed) published."""
        engine = create_engine(self.database_url, pool_size=1, application_name="faults-check")
        query = text("SELECT tx_id, global_position FROM infra.checkpoints WHERE name = :name")
        try:
            async with engine.connect() as conn:
                name = f"relay:{self.env['HELPDESK_EXCHANGE']}"
                row = (await conn.execute(query, {"name": name})).first()
            after = LogPosition(int(row.tx_id), int(row.global_position)) if row else None
            return len(await EventStore(engine).read_all(after, limit=100_000))
        finally:
            await engine.dispose()

    async def ticket_streams(self) -> set[str]:
        return {e.stream_id for e in await self.stored_events() if e.category == "ticket"}

    async def mark_baseline(self) -> None:
        """The tickets that exist before the traffic (demo data) are left out of the mail check."""
        self.baseline = await self.ticket_streams()

    async def verify(
        self, scenario: str, traffic: Traffic, replay_dead_letters: bool = False
    ) -> Figures:
        self.assert_parts_alive()
        figures = Figures(scenario, http_statuses=dict(traffic.statuses))
        figures.requests_accepted = len(traffic.accepted_tickets)
        figures.commands_accepted = len(traffic.accepted_commands)
        stored = await self._settled_log(figures, traffic)
        figures.events_stored = len(stored)
        await self._count_published(figures, stored)
        await self._count_mails(figures, stored, replay_dead_letters)
        await self._count_metrics(figures, stored)
        figures.dead_letters_replayed = self.dead_letters_replayed
        figures.seconds = round(time.monotonic() - self.started, 1)
        print(figures.line())
        return figures

    async def _settled_log(self, figures: Figures, traffic: Traffic) -> list[RecordedEvent]:
        """The whole log once every accepted request's events are readable.

        A reader of the log sees nothing past the oldest transaction still writing (that is how
        the log stays gapless), so right after a fault, while consumers catch up, a read can stop
        short of events already committed: wait until the accepted ones are all there.
        """
        stored: list[RecordedEvent] = []

        async def complete() -> bool:
            nonlocal stored
            stored = await self.stored_events()
            _count_accepted(figures, traffic, stored)
            return figures.requests_lost + figures.commands_lost == 0

        await eventually(complete, SETTLE_SECONDS)
        return stored

    def assert_parts_alive(self) -> None:
        """A part that died of the fault (rather than being killed by the test) is a failure."""
        for launched in self.stack.launched:
            assert is_alive(launched), f"{launched.name} died:\n{tail(launched.log, 30)}"

    async def _count_published(self, figures: Figures, stored: list[RecordedEvent]) -> None:
        ids = {str(e.event_id) for e in stored}

        async def all_seen() -> bool:
            await self.witness.drain()
            return ids <= set(self.witness.seen)

        await eventually(all_seen, SETTLE_SECONDS)
        seen = self.witness.seen
        figures.events_published = len(ids & set(seen))
        figures.events_unpublished = len(ids - set(seen))
        figures.deliveries_repeated = sum(n - 1 for n in seen.values())

    async def _count_mails(
        self, figures: Figures, stored: list[RecordedEvent], replay: bool
    ) -> None:
        expected = _expected_mails(stored, self.baseline)
        figures.mails_expected = len(expected)

        def received() -> Counter[tuple[str, str | None]]:
            found: Counter[tuple[str, str | None]] = Counter()
            for message_id, count in self.mailbox.message_ids.items():
                key = mail_key(message_id)
                if key is not None:
                    found[key] += count
            return found

        async def all_mailed() -> bool:
            if expected <= set(received()):
                return True
            if replay:
                await self.replay_notify_dead_letters()
            return False

        await eventually(all_mailed, SETTLE_SECONDS, pause=2)
        got = received()
        figures.mails_missing = len(expected - set(got))
        figures.mails_duplicated = sum(n - 1 for n in got.values())
        figures.duplicated_message_ids = [m for m, n in self.mailbox.message_ids.items() if n > 1]
        figures.notifications_not_sent = await self._notifications_not_sent()

    async def _notifications_not_sent(self) -> int:
        """Notify's own ledger: every planned mail of the traffic's tickets ends up `sent`."""
        engine = create_engine(self.database_url, pool_size=1, application_name="faults-check")
        query = text(
            "SELECT ticket_id::text FROM notify.notifications"
            " WHERE status <> 'sent' AND recipient = :recipient"
        )
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(query, {"recipient": REQUESTER_EMAIL})).scalars()
                return sum(f"ticket-{t}" not in self.baseline for t in rows)
        finally:
            await engine.dispose()

    async def replay_notify_dead_letters(self) -> int:
        headers = {"Authorization": f"Bearer {tokens(self.env['HELPDESK_JWT_SECRET'])['manager']}"}
        async with httpx.AsyncClient(base_url=self.stack.urls["notify"], timeout=30) as client:
            answer = await client.post("/v1/dead-letters/replay", json={}, headers=headers)
        answer.raise_for_status()
        replayed = int(answer.json()["replayed"])
        self.dead_letters_replayed += replayed
        return replayed

    async def _count_metrics(self, figures: Figures, stored: list[RecordedEvent]) -> None:
        """Every ticket's and call's facts must have folded its stream up to its last version.

        The facts keep the last version folded and a version is folded only when it is the next
        one (`next_step`), so an event cannot be applied twice; one not folded shows as missing.
        """
        expected: dict[str, int] = {}
        for event in stored:
            if event.category in {"ticket", "call"}:
                expected[event.stream_id] = max(expected.get(event.stream_id, 0), event.version)
        engine = create_engine(self.database_url, pool_size=1, application_name="faults-check")
        query = text(
            "SELECT 'ticket-' || ticket_id, last_version FROM metrics.ticket_facts "
            "UNION ALL SELECT 'call-' || call_id, last_version FROM metrics.call_facts"
        )

        async def missing() -> int:
            async with engine.connect() as conn:
                folded = {str(s): int(v) for s, v in (await conn.execute(query)).all()}
            return sum(max(0, v - folded.get(s, 0)) for s, v in expected.items())

        async def caught_up() -> bool:
            return await missing() == 0

        try:
            await eventually(caught_up, SETTLE_SECONDS)
            figures.metrics_events_missing = await missing()
        finally:
            await engine.dispose()
        figures.metrics_events_applied = sum(expected.values()) - figures.metrics_events_missing
        figures.kpis_equal_rebuild = await self._kpis_equal_rebuild()

    async def _kpis_equal_rebuild(self) -> bool:
        now = datetime.now(UTC)
        period = {"from": (now - timedelta(days=2)).isoformat(), "to": now.isoformat()}
        live = await self._kpis(period)
        replay = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "helpdesk_metrics.entrypoints.cli", "replay", env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await replay.communicate()
        assert replay.returncode == 0, output.decode()
        rebuilt = await self._kpis(period)
        differing = [key for key in live if live[key] != rebuilt.get(key)]
        if differing:
            print("KPIS-DIFFER", {key: (live[key], rebuilt.get(key)) for key in differing})
        return not differing

    async def _kpis(self, period: Mapping[str, str]) -> Any:
        headers = {"Authorization": f"Bearer {tokens(self.env['HELPDESK_JWT_SECRET'])['manager']}"}
        async with httpx.AsyncClient(base_url=self.stack.urls["metrics"], timeout=30) as client:
            answer = await client.get("/v1/kpis", params=dict(period), headers=headers)
        answer.raise_for_status()
        figures = answer.json()
        figures.pop("as_of")  # the moment of the call, not a figure
        return figures


def _count_accepted(figures: Figures, traffic: Traffic, stored: list[RecordedEvent]) -> None:
    types_of: dict[str, list[str]] = {}
    for event in stored:
        types_of.setdefault(event.stream_id, []).append(event.type)
    figures.requests_lost = sum(
        "TicketOpened" not in types_of.get(f"ticket-{t}", []) for t in traffic.accepted_tickets
    )
    figures.commands_lost = sum(
        event_type not in types_of.get(f"ticket-{t}", [])
        for t, event_type in traffic.accepted_commands
    )


def _expected_mails(stored: list[RecordedEvent], baseline: set[str]) -> set[tuple[str, str | None]]:
    """(ticket, event) of each mail notify owes the requester for the traffic's tickets."""
    expected: set[tuple[str, str | None]] = set()
    for event in stored:
        if event.category != "ticket" or event.stream_id in baseline:
            continue
        if event.type not in MAILED_TYPES:
            continue
        ticket_id = event.stream_id.removeprefix("ticket-")
        opening = event.type == "TicketOpened"
        if opening and event.data["requester"].get("email") != REQUESTER_EMAIL:
            continue
        expected.add((ticket_id, None if opening else str(event.event_id)))
    return expected
