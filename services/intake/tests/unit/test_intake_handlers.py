"""Intake's application handlers (opening a request, taking an inbound mail) on in-memory fakes
of their ports: no PostgreSQL, no broker. A fake unit of work keeps its writes only when it ends
without error, as the PostgreSQL one commits or rolls back its transaction."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from helpdesk_intake.application.inbound_mail import MailContext, receive_mail
from helpdesk_intake.application.open_request import (
    OpenRequest,
    RequesterDetails,
    RequesterUnidentified,
    open_ticket,
)
from helpdesk_intake.application.ports import EntryRead, InboundMail, IndexedTicket, Opening
from helpdesk_intake.domain.admissibility import judge
from helpdesk_intake.domain.contract import ContractState, Sign, decide, evolve
from helpdesk_intake.domain.contracts import Contract
from helpdesk_intake.domain.demo_contracts import CONTRACT_1, CONTRACT_2, DEMO_CONTRACTS
from helpdesk_intake.domain.prequalification import AssistanceRequest
from helpdesk_intake.domain.references import PREFIXES, format_reference
from helpdesk_intake.domain.requesters import Requester
from helpdesk_shared.events.intake import MailQuarantined
from helpdesk_shared.events.ticket import Channel, CommentAdded, TicketOpened, TicketType
from helpdesk_shared.eventstore.model import (
    ConcurrencyConflict,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    stream_id,
)

TIMEZONE = "Europe/Paris"
STAFF_DOMAIN = "dsi.example.fr"


@dataclass
class Tables:
    """Everything a unit of work writes: directory, counters, index, mail record, events."""

    requesters: dict[str, Requester] = field(default_factory=dict)
    contracts: list[ContractState] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[tuple[str, int], int] = field(default_factory=dict)
    tickets: dict[str, IndexedTicket] = field(default_factory=dict)
    mails: dict[str, InboundMail] = field(default_factory=dict)
    quarantine: dict[uuid.UUID, bytes] = field(default_factory=dict)
    streams: dict[str, list[NewEvent]] = field(default_factory=dict)


def _held(state: ContractState, login: str, organisation: str | None) -> bool:
    return state.contract(state.current).is_held_by(login, organisation)


def signed(contract: Contract) -> ContractState:
    """The contract as its stream would rebuild it once signed."""
    (event,) = decide(Sign(contract.id, contract.terms(), datetime.now(UTC), "manager"), None)
    return evolve(None, event)


@dataclass
class FakeDirectory:
    t: Tables
    contract_reads: list[str | None] = field(default_factory=list)

    async def requester_and_contracts_by_login(self, login: str) -> EntryRead | None:
        found = self.t.requesters.get(login)
        if found is None:
            return None
        held = [c for c in self.t.contracts if _held(c, found.login, found.organisation)]
        return EntryRead(found, held)

    async def requester_by_email(self, email: str) -> Requester | None:
        return next(
            (r for r in self.t.requesters.values() if str(r.email).lower() == email.lower()), None
        )

    async def requester_by_id(
        self, requester_id: uuid.UUID, *, for_update: bool = False
    ) -> Requester | None:
        return next((r for r in self.t.requesters.values() if r.id == requester_id), None)

    async def insert_requester(self, requester: Requester) -> bool:
        if requester.login in self.t.requesters:
            return False
        self.t.requesters[requester.login] = requester
        return True

    async def update_requester(
        self, requester: Requester, *, changes: dict[str, Any], changed_by: str, channel: str | None
    ) -> Requester:
        updated = requester.model_copy(update={"version": requester.version + 1})
        self.t.requesters[requester.login] = updated
        self.t.changes.append({"changes": changes, "by": changed_by, "channel": channel})
        return updated

    async def delete_requester(self, requester_id: uuid.UUID) -> bool:
        found = await self.requester_by_id(requester_id)
        return found is not None and self.t.requesters.pop(found.login, None) is not None

    async def contracts_held_by(self, login: str, organisation: str | None) -> list[ContractState]:
        self.contract_reads.append(organisation)
        return [c for c in self.t.contracts if _held(c, login, organisation)]


@dataclass
class FakeTicketIndex:
    t: Tables

    async def open_numbered(self, opening: Opening, event: NewEvent) -> str:
        key = (opening.prefix, opening.year)
        number = self.t.counters.get(key, 0) + 1
        self.t.counters[key] = number
        reference = f"{opening.prefix}-{opening.year:04d}-{number:06d}"
        self.t.tickets[reference] = replace(opening.ticket, reference=reference)
        stream = self.t.streams.setdefault(stream_id("ticket", opening.ticket.ticket_id), [])
        assert not stream, "a ticket's opening starts its stream"
        stream.append(replace(event, data={**event.data, "reference": reference}))
        return reference

    async def ticket_by_reference(self, reference: str) -> IndexedTicket | None:
        return self.t.tickets.get(reference.upper())

    async def ticket_by_id(self, ticket_id: uuid.UUID) -> IndexedTicket | None:
        return next((t for t in self.t.tickets.values() if t.ticket_id == ticket_id), None)

    async def ticket_by_message_ids(self, message_ids: list[str]) -> IndexedTicket | None:
        for message_id in message_ids:
            mail = self.t.mails.get(message_id)
            if mail is not None and mail.ticket_id is not None:
                return await self.ticket_by_id(mail.ticket_id)
        return None


@dataclass
class FakeMailroom:
    t: Tables

    async def claim_message(self, mail: InboundMail) -> InboundMail | None:
        prior = self.t.mails.get(mail.message_id)
        if prior is not None:
            return prior
        self.t.mails[mail.message_id] = mail
        return None

    async def settle_message(self, mail: InboundMail) -> None:
        claimed = self.t.mails[mail.message_id]
        self.t.mails[mail.message_id] = replace(
            claimed, disposition=mail.disposition, detail=mail.detail, ticket_id=mail.ticket_id
        )

    async def quarantine(
        self, mail_id: uuid.UUID, message_id: str | None, reason: str, raw: bytes
    ) -> None:
        self.t.quarantine.setdefault(mail_id, raw)


@dataclass
class FakeEvents:
    t: Tables
    #: Conflicts to raise on the next appends (a ticket command appended meanwhile).
    conflicts: list[int]

    async def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        """No ticket stream is read back in these handlers' cases (replies to closed tickets
        are judged on PostgreSQL, in the inbound-mail integration tests)."""
        return []

    async def append(
        self, stream_id: str, expected_version: int | ExpectedVersion, events: Sequence[NewEvent]
    ) -> None:
        if self.conflicts and self.conflicts[0] > 0:
            self.conflicts[0] -= 1
            raise ConcurrencyConflict(stream_id, expected_version, -1)
        stream = self.t.streams.setdefault(stream_id, [])
        if {e.event_id for e in events} <= {e.event_id for e in stream}:
            return  # re-appending stored event ids is a no-op, as in the store
        if expected_version is ExpectedVersion.NO_STREAM:
            assert not stream, f"{stream_id} exists"
        stream.extend(events)


@dataclass(frozen=True)
class FakeUnit:
    directory: FakeDirectory
    tickets: FakeTicketIndex
    mailroom: FakeMailroom
    events: FakeEvents


class FakeUnits:
    def __init__(self, contracts: Sequence[Contract] = DEMO_CONTRACTS) -> None:
        self.tables = Tables(contracts=[signed(c) for c in contracts])
        self.conflicts = [0]
        self.commits = self.rollbacks = 0
        self.last: FakeUnit | None = None

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[FakeUnit]:
        work = copy.deepcopy(self.tables)
        unit = FakeUnit(
            FakeDirectory(work),
            FakeTicketIndex(work),
            FakeMailroom(work),
            FakeEvents(work, self.conflicts),
        )
        self.last = unit
        try:
            yield unit
        except BaseException:
            self.rollbacks += 1
            raise
        self.tables = work
        self.commits += 1

    def events(self, stream_id: str) -> list[NewEvent]:
        return self.tables.streams.get(stream_id, [])

    def ticket_events(self) -> dict[str, list[NewEvent]]:
        return {k: v for k, v in self.tables.streams.items() if k.startswith("ticket-")}


def known(login: str = "jdupont", **extra: Any) -> Requester:
    fields = {"login": login, "name": "Jeanne Dupont", "email": f"{login}@alpha.example"}
    return Requester.model_validate(fields | {"organisation": CONTRACT_1.client.name} | extra)


def request(details: RequesterDetails, **changes: Any) -> OpenRequest:
    base = OpenRequest(
        type=TicketType.INCIDENT,
        channel=Channel.WEB,
        subject="Imprimante en panne",
        description="Plus rien ne sort depuis ce matin.",
        facts=AssistanceRequest(),
        requester=details,
        received_at=datetime.now(UTC),
        opened_by="agent1",
    )
    return replace(base, **changes)


async def open_in(units: FakeUnits, command: OpenRequest) -> Any:
    async with units() as unit:
        return await open_ticket(unit, command, TIMEZONE)


def payload(new: NewEvent) -> dict[str, Any]:
    return dict(new.data)


async def test_a_known_requester_s_request_opens_a_numbered_ticket_stream() -> None:
    units = FakeUnits()
    requester = known()
    units.tables.requesters[requester.login] = requester
    command = request(RequesterDetails(login="jdupont"))
    opened = await open_in(units, command)

    year = command.received_at.astimezone(ZoneInfo(TIMEZONE)).year
    assert opened.reference == format_reference(TicketType.INCIDENT, year, 1)
    ((stream, appended),) = units.ticket_events().items()
    assert stream == f"ticket-{opened.ticket_id}"
    (event,) = appended
    assert event.type == TicketOpened.event_type()
    data = payload(event)
    assert data["reference"] == opened.reference
    assert data["requester"]["login"] == "jdupont"
    contracts = [signed(c) for c in DEMO_CONTRACTS if c.client == CONTRACT_1.client]
    local = command.received_at.astimezone(ZoneInfo(TIMEZONE)).date()
    expected = judge(command.facts, requester, contracts, local)
    assert opened.pre_qualification == expected.summary()
    assert data["admissibility"] == expected.evidence.model_dump(mode="json")
    assert data["admissibility"]["contract_id"] == str(CONTRACT_1.id)
    assert opened.group == expected.group
    assert units.tables.tickets[opened.reference].requester_login == "jdupont"
    assert units.last is not None
    assert units.last.directory.contract_reads == []
    assert (opened.requester_created, units.commits) == (False, 1)

    again = await open_in(units, command)
    assert again.reference == format_reference(TicketType.INCIDENT, year, 2)
    assert PREFIXES[TicketType.INCIDENT] in again.reference


async def test_an_unknown_e_mail_address_creates_an_entry_to_verify() -> None:
    units = FakeUnits()
    details = RequesterDetails(email="nouveau@alpha.example", name="Nouveau Venu")
    opened = await open_in(units, request(details))
    assert opened.requester_created
    created = units.tables.requesters["nouveau@alpha.example"]
    assert created.needs_verification
    assert created.name == "Nouveau Venu"
    assert payload(units.ticket_events()[f"ticket-{opened.ticket_id}"][0])["requester"][
        "email"
    ] == ("nouveau@alpha.example")


async def test_a_request_for_nobody_is_refused_and_writes_nothing() -> None:
    units = FakeUnits()
    with pytest.raises(RequesterUnidentified):
        await open_in(units, request(RequesterDetails()))
    assert (units.commits, units.rollbacks) == (0, 1)
    assert units.tables.streams == {}


async def test_a_requester_corrects_its_phone_but_not_its_organisation() -> None:
    units = FakeUnits()
    units.tables.requesters["jdupont"] = known()
    details = RequesterDetails(
        login="jdupont", phone="0102030405", organisation=CONTRACT_2.client.name
    )
    opened = await open_in(units, request(details, verified_by_staff=False, opened_by="jdupont"))
    entry = units.tables.requesters["jdupont"]
    assert (entry.phone, entry.organisation, entry.version) == (
        "0102030405",
        CONTRACT_1.client.name,
        2,
    )
    (change,) = units.tables.changes
    assert set(change["changes"]) == {"phone"}
    assert (change["by"], change["channel"]) == ("jdupont", "web")
    assert opened.requester.phone == "0102030405"


async def test_staff_correct_the_organisation_and_the_new_one_s_contracts_apply() -> None:
    units = FakeUnits()
    units.tables.requesters["jdupont"] = known()
    details = RequesterDetails(login="jdupont", organisation=CONTRACT_2.client.name)
    opened = await open_in(units, request(details))
    assert units.tables.requesters["jdupont"].organisation == CONTRACT_2.client.name
    assert units.last is not None
    assert units.last.directory.contract_reads == [CONTRACT_2.client.name]
    assert opened.requester.organisation == CONTRACT_2.client.name


def ctx(units: FakeUnits) -> MailContext:
    return MailContext(
        units=units, timezone=TIMEZONE, staff_domains=(STAFF_DOMAIN,), actor="mail-gateway"
    )


def mail(sender: str, subject: str, *headers: str, message_id: str | None = None) -> bytes:
    message_id = message_id or f"<{uuid.uuid4()}@alpha.example>"
    lines = [
        f"From: {sender}",
        "To: support@dsi.example.fr",
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
        *headers,
        "",
        "Bonjour,\nmon imprimante ne marche plus.",
    ]
    return "\r\n".join(lines).encode()


async def test_a_new_mail_opens_a_ticket_once_however_often_it_is_handed_over() -> None:
    units = FakeUnits()
    raw = mail("Alice Martin <alice@alpha.example>", "Imprimante")
    handled = await receive_mail(ctx(units), raw)
    assert (handled.disposition, handled.duplicate) == ("opened", False)
    assert handled.ticket_id is not None
    assert units.tables.requesters["alice@alpha.example"].needs_verification
    (settled,) = units.tables.mails.values()
    assert (settled.disposition, settled.ticket_id) == ("opened", handled.ticket_id)

    again = await receive_mail(ctx(units), raw)
    assert again.duplicate
    assert (again.mail_id, again.ticket_id) == (handled.mail_id, handled.ticket_id)
    assert len(units.ticket_events()) == 1


async def test_a_reply_of_the_requester_becomes_a_public_comment_on_its_ticket() -> None:
    units = FakeUnits()
    first = await receive_mail(ctx(units), mail("alice@alpha.example", "Imprimante"))
    assert first.reference is not None
    reply = await receive_mail(
        ctx(units), mail("alice@alpha.example", f"Re: [{first.reference}] Imprimante")
    )
    assert (reply.disposition, reply.ticket_id) == ("reply", first.ticket_id)
    _opened, comment = units.ticket_events()[f"ticket-{first.ticket_id}"]
    assert comment.type == CommentAdded.event_type()
    assert payload(comment)["visibility"] == "public"
    assert payload(comment)["by"] == "alice@alpha.example"


async def test_a_stranger_s_reply_opens_a_request_of_its_own() -> None:
    units = FakeUnits()
    first = await receive_mail(ctx(units), mail("alice@alpha.example", "Imprimante"))
    stranger = await receive_mail(
        ctx(units), mail("mallory@beta.example", f"Re: [{first.reference}] Imprimante")
    )
    assert stranger.disposition == "opened"
    assert stranger.ticket_id != first.ticket_id
    assert stranger.detail is not None
    assert "mallory@beta.example" in stranger.detail
    assert len(units.ticket_events()[f"ticket-{first.ticket_id}"]) == 1


async def test_staff_may_write_on_any_ticket_by_mail() -> None:
    units = FakeUnits()
    first = await receive_mail(ctx(units), mail("alice@alpha.example", "Imprimante"))
    staff = await receive_mail(
        ctx(units), mail(f"agent@{STAFF_DOMAIN}", f"Re: [{first.reference}] Imprimante")
    )
    assert (staff.disposition, staff.ticket_id) == ("reply", first.ticket_id)


async def test_an_automatic_message_is_recorded_and_ignored() -> None:
    units = FakeUnits()
    handled = await receive_mail(
        ctx(units), mail("alice@alpha.example", "Absent", "Auto-Submitted: auto-replied")
    )
    assert (handled.disposition, handled.ticket_id) == ("auto_reply", None)
    assert units.tables.streams == {}
    assert [m.disposition for m in units.tables.mails.values()] == ["auto_reply"]


async def test_an_unreadable_message_is_quarantined_whole_once() -> None:
    units = FakeUnits()
    raw = b"Subject: hello\r\n\r\nno sender\r\n"
    handled = await receive_mail(ctx(units), raw)
    assert handled.disposition == "quarantined"
    assert handled.detail is not None
    assert "From" in handled.detail
    assert units.tables.quarantine == {handled.mail_id: raw}
    (event,) = units.events(f"mail-{handled.mail_id}")
    assert event.type == MailQuarantined.event_type()
    assert event.data["reason"] == handled.detail
    again = await receive_mail(ctx(units), raw)
    assert again.mail_id == handled.mail_id
    assert len(units.tables.streams[f"mail-{handled.mail_id}"]) == 1


async def test_a_conflict_rolls_the_whole_handling_back_and_it_is_tried_again() -> None:
    units = FakeUnits()
    first = await receive_mail(ctx(units), mail("alice@alpha.example", "Imprimante"))
    units.conflicts[0] = 1  # a ticket command appends to the ticket meanwhile, once
    rollbacks = units.rollbacks
    reply = await receive_mail(
        ctx(units), mail("alice@alpha.example", f"Re: [{first.reference}] Imprimante")
    )
    assert reply.disposition == "reply"
    assert not reply.duplicate  # the first attempt's claim was rolled back with it
    assert units.rollbacks == rollbacks + 1
    assert len(units.ticket_events()[f"ticket-{first.ticket_id}"]) == 2
