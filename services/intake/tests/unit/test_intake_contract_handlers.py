"""The contract handlers on the in-memory event store: no PostgreSQL. The read model fake keeps
what the handlers ask it to record, as the PostgreSQL one writes rows with the events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from helpdesk_intake.application.contracts import ContractService
from helpdesk_intake.domain.contract import (
    Amend,
    ContractAlreadySigned,
    ContractNotFound,
    ContractState,
    ContractVersion,
    Sign,
)
from helpdesk_intake.domain.contracts import CoveredAsset
from helpdesk_intake.domain.demo_contracts import CONTRACT_2
from helpdesk_shared.eventstore.memory import MemoryEventStore
from helpdesk_shared.http.idempotency import MemoryIdempotencyKeys

TODAY = date.today()


class RecordedVersions:
    def __init__(self) -> None:
        self.rows: list[tuple[uuid.UUID, int]] = []

    async def record(
        self, conn: Any, state: ContractState, versions: Sequence[ContractVersion]
    ) -> None:
        self.rows += [(state.contract_id, v.number) for v in versions]


def service() -> tuple[ContractService, MemoryEventStore, RecordedVersions]:
    store, versions = MemoryEventStore(), RecordedVersions()
    return ContractService(store, versions, MemoryIdempotencyKeys()), store, versions


def sign_command(contract_id: uuid.UUID) -> Sign:
    return Sign(contract_id, CONTRACT_2.terms(), datetime.now(UTC), "chef")


def render(state: ContractState) -> tuple[dict[str, Any], str]:
    return {"version": state.current.number}, f"/v1/contracts/{state.contract_id}"


async def test_signing_starts_the_stream_and_records_version_1() -> None:
    contracts, store, versions = service()
    cid = uuid.uuid4()
    answer = await contracts.sign(sign_command(cid), None, {}, render)
    assert (answer.status_code, answer.body) == (201, {"version": 1})
    assert [e.type for e in await store.read_stream(f"contract-{cid}")] == ["ContractSigned"]
    assert versions.rows == [(cid, 1)]
    with pytest.raises(ContractAlreadySigned):
        await contracts.sign(sign_command(cid), None, {}, render)


async def test_a_retried_signing_with_its_key_answers_the_first_answer_and_signs_once() -> None:
    contracts, store, versions = service()
    cid = uuid.uuid4()
    first = await contracts.sign(sign_command(cid), "k-1", {"n": 1}, render)
    again = await contracts.sign(sign_command(cid), "k-1", {"n": 1}, render)
    assert again == first
    assert len(await store.read_stream(f"contract-{cid}")) == 1
    assert versions.rows == [(cid, 1)]


async def test_an_amendment_records_only_its_new_version() -> None:
    contracts, _, versions = service()
    cid = uuid.uuid4()
    await contracts.sign(sign_command(cid), None, {}, render)
    amend = Amend(
        cid, TODAY + timedelta(days=1), "ajout", datetime.now(UTC), "chef",
        assets_added=(CoveredAsset(asset_tag="PC-9"),),
    )  # fmt: skip
    answer = await contracts.change(amend, "amend", "k-2", {"a": 1}, render)
    replay = await contracts.change(amend, "amend", "k-2", {"a": 1}, render)
    assert answer.body == replay.body == {"version": 2}
    assert versions.rows == [(cid, 1), (cid, 2)]
    assert (await contracts.load(cid)).current.reason == "ajout"


async def test_changing_a_contract_never_signed_is_not_found() -> None:
    contracts, _, versions = service()
    amend = Amend(uuid.uuid4(), TODAY, "x", datetime.now(UTC), "chef")
    with pytest.raises(ContractNotFound):
        await contracts.change(amend, "amend", None, {}, render)
    assert versions.rows == []
