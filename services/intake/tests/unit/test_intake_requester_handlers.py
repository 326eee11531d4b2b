"""The directory's write handlers (add, correct, remove a requester) on an in-memory fake of the
`Directory` port: no PostgreSQL. The fake unit of work keeps its writes only when it ends without
error, as the PostgreSQL one commits or rolls back its transaction."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from helpdesk_intake.application.requesters import (
    CHANNEL,
    Correction,
    LoginTaken,
    RequesterNotFound,
    StaleVersion,
    add_requester,
    correct_requester,
    etag,
    remove_requester,
)
from helpdesk_intake.domain.requesters import Requester


@dataclass
class Tables:
    requesters: dict[uuid.UUID, Requester] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FakeDirectory:
    t: Tables
    locked: list[uuid.UUID] = field(default_factory=list)

    async def requester_by_id(
        self, requester_id: uuid.UUID, *, for_update: bool = False
    ) -> Requester | None:
        if for_update:
            self.locked.append(requester_id)
        return self.t.requesters.get(requester_id)

    async def insert_requester(self, requester: Requester) -> bool:
        if any(r.login == requester.login for r in self.t.requesters.values()):
            return False
        self.t.requesters[requester.id] = requester
        return True

    async def update_requester(
        self, requester: Requester, *, changes: dict[str, Any], changed_by: str, channel: str | None
    ) -> Requester:
        updated = requester.model_copy(update={"version": requester.version + 1})
        self.t.requesters[requester.id] = updated
        self.t.changes.append({"changes": changes, "by": changed_by, "channel": channel})
        return updated

    async def delete_requester(self, requester_id: uuid.UUID) -> bool:
        return self.t.requesters.pop(requester_id, None) is not None


@dataclass(frozen=True)
class FakeUnit:
    directory: FakeDirectory


class FakeUnits:
    def __init__(self, *requesters: Requester) -> None:
        self.tables = Tables({r.id: r for r in requesters})
        self.commits = self.rollbacks = 0
        self.last: FakeUnit | None = None

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[FakeUnit]:
        work = copy.deepcopy(self.tables)
        self.last = FakeUnit(FakeDirectory(work))
        try:
            yield self.last
        except BaseException:
            self.rollbacks += 1
            raise
        self.tables = work
        self.commits += 1


def entry(login: str = "jdupont", **extra: Any) -> Requester:
    fields = {"login": login, "name": "Jeanne Dupont", "email": f"{login}@alpha.example"}
    return Requester.model_validate(fields | {"organisation": "Entreprise Alpha"} | extra)


def correction(
    if_match: str | None = None, verified: bool | None = None, **fields: Any
) -> Correction:
    return Correction(fields=fields, verified=verified, changed_by="agent1", if_match=if_match)


async def test_adding_a_requester_writes_the_entry_and_refuses_a_taken_login() -> None:
    units = FakeUnits()
    async with units() as unit:
        await add_requester(unit, entry())
    assert [r.login for r in units.tables.requesters.values()] == ["jdupont"]

    with pytest.raises(LoginTaken) as taken:
        async with units() as unit:
            await add_requester(unit, entry(name="Another Jeanne"))
    assert taken.value.login == "jdupont"
    assert [r.name for r in units.tables.requesters.values()] == ["Jeanne Dupont"]


async def test_a_correction_locks_the_entry_writes_it_and_logs_what_changed() -> None:
    found = entry()
    units = FakeUnits(found)
    corrected = await correct_requester(
        units,
        found.id,
        correction(if_match=f" {etag(found)} ", office="B-201", phone="01 23 45 67 89"),
    )
    assert units.last is not None
    assert units.last.directory.locked == [found.id]
    assert (corrected.office, corrected.phone, corrected.version) == ("B-201", "01 23 45 67 89", 2)
    assert units.tables.requesters[found.id] == corrected
    assert units.tables.changes == [
        {
            "changes": {
                "office": {"from": None, "to": "B-201"},
                "phone": {"from": None, "to": "01 23 45 67 89"},
            },
            "by": "agent1",
            "channel": CHANNEL,
        }
    ]
    assert etag(corrected) == '"2"'


async def test_verifying_an_entry_clears_its_flag_and_logs_it() -> None:
    found = entry(needs_verification=True)
    units = FakeUnits(found)
    corrected = await correct_requester(units, found.id, correction(verified=True))
    assert corrected.needs_verification is False
    assert units.tables.changes[0]["changes"] == {"needs_verification": {"from": True, "to": False}}


async def test_a_correction_that_changes_nothing_writes_nothing() -> None:
    found = entry(office="B-104")
    units = FakeUnits(found)
    same = await correct_requester(units, found.id, correction(office="B-104", verified=True))
    assert same == found
    assert same.version == 1
    assert units.tables.changes == []


async def test_a_correction_of_an_older_version_is_refused_and_writes_nothing() -> None:
    found = entry(version=3)
    units = FakeUnits(found)
    with pytest.raises(StaleVersion) as stale:
        await correct_requester(units, found.id, correction(if_match='"2"', office="B-201"))
    assert (stale.value.if_match, stale.value.current) == ('"2"', '"3"')
    assert units.tables.requesters[found.id].office is None
    assert units.tables.changes == []
    assert units.rollbacks == 1

    anyway = await correct_requester(units, found.id, correction(if_match="*", office="B-201"))
    assert anyway.version == 4


async def test_correcting_or_removing_an_unknown_entry_is_refused() -> None:
    units = FakeUnits(entry())
    with pytest.raises(RequesterNotFound):
        await correct_requester(units, uuid.uuid4(), correction(office="B-201"))
    with pytest.raises(RequesterNotFound):
        await remove_requester(units, uuid.uuid4())
    assert len(units.tables.requesters) == 1


async def test_removing_an_entry_deletes_it_once() -> None:
    found = entry()
    units = FakeUnits(found)
    await remove_requester(units, found.id)
    assert units.tables.requesters == {}
    assert units.commits == 1
    with pytest.raises(RequesterNotFound):
        await remove_requester(units, found.id)
