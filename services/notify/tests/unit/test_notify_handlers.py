"""Notify's application handlers on in-memory fakes of their ports: no PostgreSQL, no broker,
no SMTP. The fakes keep what a unit of work wrote only when it ends without error, as the
PostgreSQL unit of work commits or rolls back its transaction."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk_notify.application.delivery import DeliveryFailed
from helpdesk_notify.application.digest import send_digests
from helpdesk_notify.application.handle_event import NotifyHandler
from helpdesk_notify.application.ports import DeliveryError, NotifyUnits
from helpdesk_notify.domain.mail import Mail
from helpdesk_notify.domain.notifications import Notification, Routing
from helpdesk_notify.domain.tickets import TicketStatus, TicketView
from helpdesk_shared.events.base import DomainEvent
from helpdesk_shared.events.ticket import (
    Admissibility,
    Channel,
    Closed,
    ClosureCode,
    PreQualification,
    RequesterSnapshot,
    TicketOpened,
    TicketType,
)
from helpdesk_shared.eventstore.model import EventMetadata, RecordedEvent
from helpdesk_shared.messaging.envelope import ReceivedEvent

#: Today at 09:00: the digest test's second run an hour later is on the same day whenever the
#: tests run (from 23:00 UTC on, `now` plus an hour was tomorrow, a new digest sent again).
NOW = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
REQUESTER = "jean.dupont@ac-paris.fr"


@dataclass
class Entry:
    """A ledger row as the fake keeps it (the `LedgerEntry` port)."""

    id: uuid.UUID
    recipient: str
    status: str
    retryable: bool
    rendered: Mail | None
    attempts: int = 0
    error: str | None = None

    def mail(self) -> Mail:
        assert self.rendered is not None
        return self.rendered


@dataclass
class Tables:
    views: dict[uuid.UUID, TicketView] = field(default_factory=dict)
    entries: dict[uuid.UUID, Entry] = field(default_factory=dict)


class FakeLedger:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def record(self, notifications: Sequence[Notification]) -> list[uuid.UUID]:
        for n in notifications:
            key = uuid.uuid5(n.event_id, n.recipient)
            self._tables.entries.setdefault(
                key,
                Entry(
                    key, n.recipient, "pending" if n.mail else "failed", n.mail is not None, n.mail
                ),
            )
        return [uuid.uuid5(n.event_id, n.recipient) for n in notifications if n.mail]

    async def lock(self, notification: uuid.UUID) -> Entry | None:
        return self._tables.entries.get(notification)

    async def mark_sent(self, notification: uuid.UUID, smtp_response: str) -> None:
        entry = self._tables.entries[notification]
        if entry.status != "sent":
            entry.status, entry.attempts, entry.error = "sent", entry.attempts + 1, None

    async def mark_failed(self, notification: uuid.UUID, error: str, *, retryable: bool) -> None:
        entry = self._tables.entries[notification]
        entry.status, entry.attempts, entry.error = "failed", entry.attempts + 1, error
        entry.retryable = retryable


class FakeViews:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def load_all_for_update(
        self, ticket_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, TicketView]:
        return {t: self._tables.views[t] for t in ticket_ids if t in self._tables.views}

    async def save_all(self, views: Sequence[TicketView]) -> None:
        for view in views:
            self._tables.views[view.ticket_id] = view

    async def open_views(self) -> list[TicketView]:
        return [v for v in self._tables.views.values() if v.status is not TicketStatus.CLOSED]


class FakeHistory:
    def __init__(self, streams: dict[str, list[RecordedEvent]]) -> None:
        self._streams = streams

    async def read_stream(self, stream_id: str, to_version: int) -> list[RecordedEvent]:
        return [e for e in self._streams.get(stream_id, []) if e.version <= to_version]


@dataclass(frozen=True)
class FakeUnit:
    ledger: FakeLedger
    tickets: FakeViews
    history: FakeHistory


class FakeUnits:
    """Units of work on in-memory tables: a unit's writes are kept only if it ends cleanly, and
    only the rows it changed (units run concurrently, each on rows of its own)."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.store: dict[str, list[RecordedEvent]] = {}
        self.commits = 0
        #: The number of the commit to fail once its work is done (PostgreSQL lost at the
        #: commit); the units after it commit again.
        self.failing_commit: int | None = None

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[FakeUnit]:
        before = copy.deepcopy(self.tables)
        work = copy.deepcopy(self.tables)
        yield FakeUnit(FakeLedger(work), FakeViews(work), FakeHistory(self.store))
        if self.failing_commit == self.commits + 1:
            self.failing_commit = None
            raise ConnectionError("the server closed the connection")
        for kept, done, was in (
            (self.tables.entries, work.entries, before.entries),
            (self.tables.views, work.views, before.views),
        ):
            kept.update({key: row for key, row in done.items() if was.get(key) != row})
        self.commits += 1

    #: A mail's unit is a whole unit here.
    deliveries = __call__

    def entries_to(self, recipient: str) -> list[Entry]:
        return [e for e in self.tables.entries.values() if e.recipient == recipient]


class FakeMailer:
    """Accepts every mail, or refuses them all with `refusal`."""

    def __init__(self, refusal: DeliveryError | None = None) -> None:
        self.sent: list[Mail] = []
        self.refusal = refusal

    async def send(self, mail: Mail) -> str:
        if self.refusal is not None:
            raise self.refusal
        self.sent.append(mail)
        return "250 OK"


def received(event: DomainEvent, version: int, event_id: uuid.UUID | None = None) -> ReceivedEvent:
    ticket_id = getattr(event, "ticket_id")  # noqa: B009 - every ticket event has one
    return ReceivedEvent(
        event_id=event_id or uuid.uuid4(),
        type=event.event_type(),
        stream_id=f"ticket-{ticket_id}",
        version=version,
        global_position=version,
        recorded_at=NOW,
        schema_version=event.schema_version,
        data=event.to_data(),
    )


def opened(ticket_id: uuid.UUID) -> ReceivedEvent:
    return received(
        TicketOpened(
            ticket_id=ticket_id,
            occurred_at=NOW,
            reference="INC-2026-000042",
            type=TicketType.INCIDENT,
            channel=Channel.EMAIL,
            requester=RequesterSnapshot(login="jdupont", name="Jean Dupont", email=REQUESTER),
            subject="Messagerie inaccessible",
            description="Impossible d'ouvrir la messagerie depuis ce matin.",
            pre_qualification=PreQualification(outcome=Admissibility.ADMISSIBLE),
            received_at=NOW,
        ),
        1,
    )


def closed(ticket_id: uuid.UUID, version: int = 2) -> ReceivedEvent:
    event = Closed(
        ticket_id=ticket_id,
        occurred_at=NOW,
        code=ClosureCode.RESOLVED,
        solution="Mot de passe réinitialisé.",
        by="agent1",
    )
    return received(event, version)


def stored(event: ReceivedEvent) -> RecordedEvent:
    return RecordedEvent(
        global_position=event.global_position,
        tx_id=1,
        stream_id=event.stream_id,
        version=event.version,
        event_id=event.event_id,
        type=event.type,
        schema_version=event.schema_version,
        data=event.data,
        metadata=EventMetadata(),
        recorded_at=event.recorded_at,
    )


def handler(units: NotifyUnits, mailer: FakeMailer) -> NotifyHandler:
    return NotifyHandler(units=units, sender=mailer, routing=Routing())


async def test_an_opened_ticket_is_acknowledged_to_its_requester_once() -> None:
    units, mailer = FakeUnits(), FakeMailer()
    ticket_id = uuid.uuid4()
    event = opened(ticket_id)
    await handler(units, mailer)(event)
    assert [m.recipient for m in mailer.sent] == [REQUESTER]
    assert "INC-2026-000042" in mailer.sent[0].subject
    assert units.tables.views[ticket_id].requester_email == REQUESTER
    assert [e.status for e in units.entries_to(REQUESTER)] == ["sent"]

    await handler(units, mailer)(event)  # redelivered: planned again, found sent, not re-sent
    assert len(mailer.sent) == 1
    assert [e.attempts for e in units.entries_to(REQUESTER)] == [1]


async def test_a_passing_smtp_failure_is_retried_yet_the_view_and_ledger_are_kept() -> None:
    units = FakeUnits()
    ticket_id = uuid.uuid4()
    down = FakeMailer(DeliveryError("SMTP unavailable", permanent=False))
    with pytest.raises(DeliveryFailed):
        await handler(units, down)(opened(ticket_id))
    # Committed in units of their own, whatever becomes of the consumer's transaction:
    assert ticket_id in units.tables.views
    (entry,) = units.entries_to(REQUESTER)
    assert (entry.status, entry.retryable, entry.error) == ("failed", True, "SMTP unavailable")


async def test_the_retry_of_the_same_delivery_sends_the_failed_mail() -> None:
    units = FakeUnits()
    event = opened(uuid.uuid4())
    with pytest.raises(DeliveryFailed):
        await handler(units, FakeMailer(DeliveryError("busy", permanent=False)))(event)
    up = FakeMailer()
    await handler(units, up)(event)
    assert [m.recipient for m in up.sent] == [REQUESTER]
    assert [(e.status, e.attempts) for e in units.entries_to(REQUESTER)] == [("sent", 2)]


async def test_a_refused_address_is_recorded_and_not_retried() -> None:
    units = FakeUnits()
    refused = FakeMailer(DeliveryError("550 unknown mailbox", permanent=True))
    event = opened(uuid.uuid4())
    await handler(units, refused)(event)  # nothing to retry: the consumer acknowledges
    (entry,) = units.entries_to(REQUESTER)
    assert (entry.status, entry.retryable) == ("failed", False)
    up = FakeMailer()
    await handler(units, up)(event)
    assert up.sent == []


async def test_a_missed_ticket_view_is_rebuilt_from_the_store_without_mailing_the_past() -> None:
    units, mailer = FakeUnits(), FakeMailer()
    ticket_id = uuid.uuid4()
    first = opened(ticket_id)
    units.store[first.stream_id] = [stored(first)]
    await handler(units, mailer)(closed(ticket_id))
    assert [m.recipient for m in mailer.sent] == [REQUESTER]
    assert units.tables.views[ticket_id].status is TicketStatus.CLOSED
    assert len(units.entries_to(REQUESTER)) == 1  # the closure only, not the past opening


async def test_an_event_of_an_unknown_ticket_with_no_history_sends_nothing() -> None:
    units, mailer = FakeUnits(), FakeMailer()
    await handler(units, mailer)(closed(uuid.uuid4()))
    assert mailer.sent == []
    assert units.tables.entries == {}


def idle_view(reference: str, group: str, idle_for: timedelta) -> TicketView:
    return TicketView(
        ticket_id=uuid.uuid4(),
        reference=reference,
        subject=f"Sujet {reference}",
        description="",
        ticket_type="incident",
        requester_login="jdupont",
        requester_name="Jean Dupont",
        requester_email=REQUESTER,
        language="fr",
        group=group,
        level=1,
        status=TicketStatus.OPEN,
        opened_at=NOW - idle_for,
        last_activity_at=NOW - idle_for,
    )


async def test_the_daily_digest_goes_to_each_group_with_something_to_follow_once() -> None:
    units, mailer = FakeUnits(), FakeMailer()
    for view in (
        idle_view("INC-1", "desk", timedelta(days=2)),
        idle_view("INC-2", "network", timedelta(hours=1)),
        replace(idle_view("INC-3", "servers", timedelta(days=3)), status=TicketStatus.CLOSED),
    ):
        units.tables.views[view.ticket_id] = view
    report = await send_digests(units, mailer, Routing(), now=NOW)
    assert [m.recipient for m in mailer.sent] == ["desk@helpdesk.local"]
    assert "INC-1" in mailer.sent[0].text
    assert len(report.sent) == 1

    again = await send_digests(units, mailer, Routing(), now=NOW + timedelta(hours=1))
    assert again.sent == []
    assert len(mailer.sent) == 1


class PickyMailer(FakeMailer):
    """Accepts every mail but those about `ticket_id`, which raise `error`."""

    def __init__(self, ticket_id: uuid.UUID, error: Exception) -> None:
        super().__init__()
        self.ticket_id, self.error = ticket_id, error

    async def send(self, mail: Mail) -> str:
        if str(self.ticket_id) in mail.message_id:
            raise self.error
        return await super().send(mail)


async def test_a_batch_records_in_one_unit_and_commits_each_mail_as_it_goes() -> None:
    units, mailer = FakeUnits(), FakeMailer()
    first, second = uuid.uuid4(), uuid.uuid4()
    batch = [opened(first), opened(second), closed(first)]
    await handler(units, mailer).handle_batch(batch)
    assert units.commits == 4  # the views and the ledger, then each mail with its mark
    about = [str(first) in m.message_id for m in mailer.sent]
    assert sorted(about) == [False, True, True]  # opening and closure, and the other opening
    assert units.tables.views[first].status is TicketStatus.CLOSED
    assert {e.status for e in units.tables.entries.values()} == {"sent"}

    await handler(units, mailer).handle_batch(batch)  # redelivered: nothing sent twice
    assert len(mailer.sent) == 3


def kind(mail: Mail) -> str:
    """The first word of the mail's subject after its reference ("Ouverture", "Clôture")."""
    return mail.subject.split("]")[1].split()[0]


class SlowMailer(FakeMailer):
    """Accepts every mail, the opening of `ticket_id` after a pause (or refused with
    `opening_error`): what was sent, in order."""

    def __init__(self, ticket_id: uuid.UUID, opening_error: Exception | None = None) -> None:
        super().__init__()
        self.ticket_id, self.opening_error = ticket_id, opening_error

    async def send(self, mail: Mail) -> str:
        if str(self.ticket_id) in mail.message_id and kind(mail) == "Ouverture":
            if self.opening_error is not None:
                raise self.opening_error
            await asyncio.sleep(0.05)
        return await super().send(mail)


async def test_a_ticket_s_mails_of_a_batch_leave_in_stream_order_other_tickets_meanwhile() -> None:
    units = FakeUnits()
    slow, quick = uuid.uuid4(), uuid.uuid4()
    mailer = SlowMailer(slow)
    await handler(units, mailer).handle_batch([opened(slow), closed(slow), opened(quick)])
    sent = [(str(slow) in m.message_id, kind(m)) for m in mailer.sent]
    # the quick ticket does not wait for the slow one; the slow one's closure waits its opening
    assert sent == [(False, "Ouverture"), (True, "Ouverture"), (True, "Clôture")]


async def test_a_ticket_s_mail_to_retry_holds_back_its_later_mails_of_the_batch() -> None:
    units = FakeUnits()
    ticket = uuid.uuid4()
    batch = [opened(ticket), closed(ticket)]
    opening_down = SlowMailer(ticket, DeliveryError("busy", permanent=False))
    with pytest.raises(DeliveryFailed, match="2 mail"):
        await handler(units, opening_down).handle_batch(batch)
    assert opening_down.sent == []
    up = FakeMailer()
    for event in batch:  # as the consumer does after a failed batch: one by one
        await handler(units, up)(event)
    assert [kind(m) for m in up.sent] == ["Ouverture", "Clôture"]


async def test_a_mail_accepted_whose_mark_was_lost_is_marked_again_not_resent() -> None:
    units, mailer = FakeUnits(), FakeMailer()
    event = opened(uuid.uuid4())
    units.failing_commit = 2  # the mail's: PostgreSQL restarts once the server accepted it
    await handler(units, mailer).handle_batch([event])
    assert [e.status for e in units.entries_to(REQUESTER)] == ["sent"]
    await handler(units, mailer).handle_batch([event])  # the delivery retried: not sent again
    assert len(mailer.sent) == 1


async def test_a_failing_mail_of_a_batch_keeps_the_others_sent_and_is_retried_alone() -> None:
    units = FakeUnits()
    fine, failing = uuid.uuid4(), uuid.uuid4()
    batch = [opened(fine), opened(failing)]
    down = PickyMailer(failing, DeliveryError("busy", permanent=False))
    with pytest.raises(DeliveryFailed):
        await handler(units, down).handle_batch(batch)
    assert [str(fine) in m.message_id for m in down.sent] == [True]
    up = FakeMailer()
    for event in batch:  # as the consumer does after a failed batch: one by one
        await handler(units, up)(event)
    assert [str(failing) in m.message_id for m in up.sent] == [True]


async def test_an_unexpected_sender_error_is_raised_once_the_mails_that_went_are_marked() -> None:
    units = FakeUnits()
    fine, broken = uuid.uuid4(), uuid.uuid4()
    batch = [opened(fine), opened(broken)]
    with pytest.raises(RuntimeError):
        await handler(units, PickyMailer(broken, RuntimeError("bug"))).handle_batch(batch)
    up = FakeMailer()
    await handler(units, up).handle_batch(batch)
    assert [str(broken) in m.message_id for m in up.sent] == [True]
