"""Judge an opened request again and record the new decision on the ticket's stream.

Two causes: the desk verified what was to verify (the requester's organisation, the asset) and
asks intake to judge again; or a contract was extended and the open tickets of its client that
were out of scope for the item are judged again. Either way the request's facts come from the
ticket's `TicketOpened`, the requester and contracts from the directory as they are now, and the
`AdmissibilityRedecided` is appended expecting the stream's version read (a ticket changed
meanwhile is read and judged again).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from helpdesk_intake.application.open_request import _zone
from helpdesk_intake.application.ports import EntryRead, IntakeUnit, IntakeUnits
from helpdesk_intake.domain.admissibility import judge
from helpdesk_intake.domain.contract import ContractState
from helpdesk_intake.domain.contract.state import ExtensionProposal
from helpdesk_intake.domain.contracts import ClientKind, CoverageItem
from helpdesk_intake.domain.extension_impact import Impact, PastRequest, extension_impact
from helpdesk_intake.domain.redecision import (
    OpenedRequest,
    concerned_by_extension,
    read_request,
    redecided,
    request_facts,
)
from helpdesk_intake.domain.systems import DEFAULT_SYSTEMS, OperatingSystems
from helpdesk_shared.events.admissibility import AdmissibilityEvidence, Decision
from helpdesk_shared.events.ticket import AdmissibilityRedecided, RedecisionReason
from helpdesk_shared.eventstore.model import (
    ConcurrencyConflict,
    EventMetadata,
    NewEvent,
    stream_id,
)
from helpdesk_shared.logging import correlation_id

log = logging.getLogger(__name__)

#: How far back an extension looks for open tickets of its client.
LOOK_BACK = timedelta(days=366)
#: Attempts at appending a re-decision when the ticket changes meanwhile.
ATTEMPTS = 3


class UnknownTicket(LookupError):
    """No ticket opened by intake has this id."""


class NothingToVerify(ValueError):
    """The ticket's latest decision is not `to_verify`, or the ticket is no longer open."""


async def load_request(unit: IntakeUnit, ticket_id: uuid.UUID) -> OpenedRequest | None:
    recorded = await unit.events.read_stream(stream_id("ticket", ticket_id))
    return read_request([r.to_domain() for r in recorded])


async def judged_now(
    unit: IntakeUnit, request: OpenedRequest, timezone: str, systems: OperatingSystems
) -> AdmissibilityEvidence:
    """The request judged today against the directory entry and the contracts as they are now
    (the opening's snapshot when the entry is gone)."""
    login = request.opened.requester.login
    read = await unit.directory.requester_and_contracts_by_login(login)
    if read is None:
        raise UnknownTicket(f"the requester {login!r} of this ticket is no longer in the directory")
    today = datetime.now(UTC).astimezone(_zone(timezone)).date()
    facts = request_facts(request.opened)
    return judge(facts, read.requester, read.contracts, today, systems).evidence


async def verify(
    units: IntakeUnits,
    ticket_id: uuid.UUID,
    by: str,
    timezone: str,
    systems: OperatingSystems = DEFAULT_SYSTEMS,
) -> AdmissibilityRedecided:
    """The desk verified a `to_verify` request: judge it again and record the decision."""

    async def once(unit: IntakeUnit) -> AdmissibilityRedecided:
        request = await load_request(unit, ticket_id)
        if request is None:
            raise UnknownTicket(f"no ticket {ticket_id}")
        if not request.is_open or request.evidence.decision is not Decision.TO_VERIFY:
            closed = "" if request.is_open else " and it is no longer open"
            raise NothingToVerify(
                f"the ticket's admissibility is {request.evidence.decision.value}{closed}:"
                " nothing to verify"
            )
        evidence = await judged_now(unit, request, timezone, systems)
        event = redecided(request, evidence, RedecisionReason.VERIFIED, at=datetime.now(UTC), by=by)
        await _append(unit, request, event)
        return event

    return await _retried(units, once)


async def after_extension(
    units: IntakeUnits,
    contract: ContractState,
    proposal: ExtensionProposal,
    by: str,
    timezone: str,
    systems: OperatingSystems = DEFAULT_SYSTEMS,
) -> list[AdmissibilityRedecided]:
    """Judge again the open tickets of the contract's client that were out of scope for the
    proposal's item; one re-decision per ticket, each in its own transaction."""
    client = contract.current.terms.client
    person = client.kind is ClientKind.PERSON
    since = datetime.now(UTC) - LOOK_BACK
    async with units() as unit:
        candidates = await unit.tickets.tickets_of_client(
            None if person else client.name, client.login if person else None, since
        )

    def rejudging(ticket_id: uuid.UUID) -> Attempt[AdmissibilityRedecided | None]:
        async def once(unit: IntakeUnit) -> AdmissibilityRedecided | None:
            request = await load_request(unit, ticket_id)
            if request is None or not concerned_by_extension(
                request, proposal.item, proposal.ticket_id
            ):
                return None
            evidence = await judged_now(unit, request, timezone, systems)
            event = redecided(
                request,
                evidence,
                RedecisionReason.CONTRACT_EXTENDED,
                at=datetime.now(UTC),
                by=by,
                contract_version=contract.current.number,
            )
            await _append(unit, request, event)
            return event

        return once

    recorded: list[AdmissibilityRedecided] = []
    for ticket_id in candidates:
        try:
            event = await _retried(units, rejudging(ticket_id))
        except ConcurrencyConflict:
            # The extension is recorded; a ticket that kept changing is left to the desk
            # rather than failing the others.
            log.warning("ticket %s kept changing: not re-decided after the extension", ticket_id)
            continue
        if event is not None:
            recorded.append(event)
    return recorded


T = TypeVar("T")
Attempt = Callable[[IntakeUnit], Awaitable[T]]


async def _retried(units: IntakeUnits, once: Attempt[T]) -> T:
    """Run `once` in its own unit of work; a ticket changed meanwhile is read and judged again."""
    for _ in range(ATTEMPTS - 1):
        try:
            async with units() as unit:
                return await once(unit)
        except ConcurrencyConflict:
            continue
    async with units() as unit:
        return await once(unit)


async def _append(unit: IntakeUnit, request: OpenedRequest, event: AdmissibilityRedecided) -> None:
    metadata = EventMetadata(correlation_id=correlation_id.get(), actor=event.by)
    await unit.events.append(
        stream_id("ticket", request.ticket_id),
        request.version,
        [NewEvent.from_domain(event, metadata)],
    )


async def impact_of_extension(
    units: IntakeUnits,
    contract: ContractState,
    item: CoverageItem,
    timezone: str,
    systems: OperatingSystems = DEFAULT_SYSTEMS,
) -> Impact:
    """The client's requests of the last twelve months judged against the proposed version: read
    from the ticket streams (found through intake's ticket index), nothing written."""
    client = contract.current.terms.client
    person = client.kind is ClientKind.PERSON
    since = datetime.now(UTC) - timedelta(days=365)
    past: list[PastRequest] = []
    async with units() as unit:
        ids = await unit.tickets.tickets_of_client(
            None if person else client.name, client.login if person else None, since
        )
        entries: dict[str, EntryRead | None] = {}
        for ticket_id in ids:
            request = await load_request(unit, ticket_id)
            if request is None:
                continue
            login = request.opened.requester.login
            if login not in entries:
                entries[login] = await unit.directory.requester_and_contracts_by_login(login)
            read = entries[login]
            if read is None:
                continue
            day = request.opened.received_at.astimezone(_zone(timezone)).date()
            past.append(
                PastRequest(request.opened, request.evidence, read.requester, read.contracts, day)
            )
    return extension_impact(contract, item, past, systems)
