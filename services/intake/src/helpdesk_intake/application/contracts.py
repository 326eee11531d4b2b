"""Contract commands on the aggregate kernel: load the stream, decide, append at the version
decided on (a lost race is decided again), and in the same transaction write the read model of
the new versions and the answer kept for the request's `Idempotency-Key`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from helpdesk_intake.application.ports import ContractVersions
from helpdesk_intake.domain.contract import (
    DECIDER,
    ContractAlreadySigned,
    ContractCommand,
    ContractError,
    ContractNotFound,
    ContractState,
    Sign,
)
from helpdesk_intake.domain.contract.decide import CHANGES
from helpdesk_shared.events.contract import ContractEvent
from helpdesk_shared.eventstore.model import EventMetadata
from helpdesk_shared.http.idempotency import Claim, IdempotencyKeys, StoredResponse
from helpdesk_shared.kernel import AggregateService, Connection, EventStore, Loaded
from helpdesk_shared.logging import correlation_id

#: The answer of a creating command: its body and where the thing created is.
Render = Callable[[ContractState], tuple[dict[str, Any], str]]


def _not_found(contract_id: uuid.UUID) -> Exception:
    return ContractNotFound(f"no contract {contract_id}")


def _allowed(state: ContractState) -> list[str]:
    return [] if state.terminated else list(CHANGES)


class ContractService:
    def __init__(
        self, store: EventStore, versions: ContractVersions, idempotency: IdempotencyKeys
    ) -> None:
        self.store = store
        self.versions = versions
        self.idempotency = idempotency
        self.aggregates: AggregateService[ContractCommand, ContractState, ContractEvent] = (
            AggregateService(DECIDER, store, _not_found, refusals=(ContractError,))
        )

    async def load(self, contract_id: uuid.UUID) -> ContractState:
        """Every version of the contract (raises `ContractNotFound`)."""
        return (await self.aggregates.current(contract_id)).state

    async def sign(
        self, command: Sign, key: str | None, payload: dict[str, Any], render: Render
    ) -> StoredResponse:
        """Start the contract's stream; a retry with the same key gets the first answer."""
        scope = f"POST /v1/contracts:{command.by}"
        metadata = EventMetadata(correlation_id=correlation_id.get(), actor=command.by)
        stream = DECIDER.stream_id(command.contract_id)
        async with self.store.transaction() as conn:
            claim = await self.idempotency.claim(conn, scope, key, payload)
            if claim.replay is not None:
                return claim.replay
            if await self.store.stream_version(stream, conn=conn):
                raise ContractAlreadySigned("this contract is already signed: amend it instead")
            loaded = await self.aggregates.create(
                command.contract_id, command, metadata=metadata, conn=conn
            )
            await self.versions.record(conn, loaded.state, loaded.state.versions)
            body, location = render(loaded.state)
            await claim.remember(201, body, location)
        self.aggregates.committed(command.contract_id, loaded)
        return StoredResponse(201, body, location)

    async def change(
        self,
        command: ContractCommand,
        scope: str,
        key: str | None,
        payload: dict[str, Any],
        render: Render,
    ) -> StoredResponse:
        """Amend, renew, terminate or propose an extension: a creating POST, so idempotent."""
        replay: list[StoredResponse] = []
        claims: list[Claim] = []
        answer: list[tuple[dict[str, Any], str]] = []
        known = [0]

        async def guard(conn: Connection) -> bool:
            claim = await self.idempotency.claim(conn, scope, key, payload)
            if claim.replay is not None:
                replay.append(claim.replay)
                return False
            claims[:] = [claim]
            return True

        def prepare(loaded: Loaded[ContractState]) -> ContractCommand:
            known[0] = len(loaded.state.versions)
            return command

        async def after(conn: Connection, state: ContractState) -> None:
            await self.versions.record(conn, state, state.versions[known[0] :])
            answer[:] = [render(state)]
            await claims[0].remember(201, *answer[0])

        metadata = EventMetadata(correlation_id=correlation_id.get(), actor=command.by)
        done = await self.aggregates.handle_once(
            command.contract_id, prepare, guard, metadata=metadata, after=after
        )
        if not done:
            return replay[0]
        body, location = answer[0] if answer else render(await self.load(command.contract_id))
        return StoredResponse(201, body, location)

    async def answer(
        self,
        command: ContractCommand,
        scope: str,
        key: str | None,
        payload: dict[str, Any],
        render: Render,
    ) -> StoredResponse:
        """A command that creates nothing (the answer to an extension proposal; an accepted one
        amends the contract in the same append), under its `Idempotency-Key`: the key is
        claimed and the answer stored in the append's transaction, so a retry is applied once
        and gets the first answer (200)."""
        replay: list[StoredResponse] = []
        claims: list[Claim] = []
        answer: list[tuple[dict[str, Any], str]] = []
        known = [0]

        async def guard(conn: Connection) -> bool:
            claim = await self.idempotency.claim(conn, scope, key, payload)
            if claim.replay is not None:
                replay.append(claim.replay)
                return False
            claims[:] = [claim]
            return True

        def prepare(loaded: Loaded[ContractState]) -> ContractCommand:
            known[0] = len(loaded.state.versions)
            return command

        async def after(conn: Connection, state: ContractState) -> None:
            # An accepted extension amends the contract: its new version is read by the
            # pre-qualification from the read model, written in the same transaction.
            await self.versions.record(conn, state, state.versions[known[0] :])
            answer[:] = [render(state)]
            await claims[0].remember(200, *answer[0])

        metadata = EventMetadata(correlation_id=correlation_id.get(), actor=command.by)
        done = await self.aggregates.handle_once(
            command.contract_id, prepare, guard, metadata=metadata, after=after, allowed=_allowed
        )
        if not done:
            return replay[0]
        body, location = answer[0] if answer else render(await self.load(command.contract_id))
        return StoredResponse(200, body, location)
