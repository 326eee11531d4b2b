"""The shared `Idempotency-Key` helper against `infra.idempotency_keys`."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.http.idempotency import IdempotencyGuard, request_fingerprint
from helpdesk_shared.http.problems import Problem


async def test_answer_is_replayed_and_a_changed_request_refused(engine: AsyncEngine) -> None:
    scope, key = "test:helper", f"k-{uuid.uuid4()}"
    async with engine.begin() as conn:
        guard = await IdempotencyGuard.claim(conn, scope, key, {"a": 1, "b": 2})
        assert guard.replay is None
        await guard.remember(201, {"id": "x"}, "/v1/things/x")
    async with engine.begin() as conn:
        again = await IdempotencyGuard.claim(conn, scope, key, {"b": 2, "a": 1})
    assert again.replay is not None
    assert (again.replay.status_code, again.replay.body, again.replay.location) == (
        201,
        {"id": "x"},
        "/v1/things/x",
    )
    async with engine.begin() as conn:
        with pytest.raises(Problem) as refused:
            await IdempotencyGuard.claim(conn, scope, key, {"a": 2})
    assert refused.value.status == 422


async def test_an_answer_rolled_back_with_its_work_is_not_replayed(engine: AsyncEngine) -> None:
    scope, key = "test:helper", f"k-{uuid.uuid4()}"

    async def work_that_fails() -> None:
        async with engine.begin() as conn:
            guard = await IdempotencyGuard.claim(conn, scope, key, b"body")
            await guard.remember(201, {"id": "lost"})
            raise RuntimeError("the append failed")

    with pytest.raises(RuntimeError):
        await work_that_fails()
    async with engine.connect() as conn:
        stored = await conn.execute(
            text("SELECT count(*) FROM infra.idempotency_keys WHERE key = :k"), {"k": key}
        )
    assert stored.scalar_one() == 0


async def test_no_key_does_nothing_and_bad_keys_are_refused(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        guard = await IdempotencyGuard.claim(conn, "test:helper", None, b"x")
        await guard.remember(201, {"id": "y"})
        assert guard.replay is None
        for bad in ("", "x" * 256, "tab\there"):
            with pytest.raises(Problem):
                await IdempotencyGuard.claim(conn, "test:helper", bad, b"x")
    assert request_fingerprint({"a": 1}) == request_fingerprint('{"a":1}')
