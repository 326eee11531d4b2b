"""A pooled connection broken while idle (a PostgreSQL restart, a killed backend) is replaced at
checkout: the request that takes it from the pool never sees the failure."""

from sqlalchemy import text

from helpdesk_shared.db import create_engine


async def test_a_connection_killed_in_the_pool_is_replaced_before_use(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    killer = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            first = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with killer.connect() as conn:
            killed = await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            assert killed.scalar_one() is True
        async with engine.connect() as conn:
            second = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert second != first
    finally:
        await engine.dispose()
        await killer.dispose()
