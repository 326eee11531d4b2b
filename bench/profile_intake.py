"""`python -m bench.profile_intake [--requests 1500] [--clients 16] [--top 40]`: where the CPU of
`POST /v1/requests` goes.

The intake app runs in this process (`build_app`, real PostgreSQL, a scratch database with the
demo directory) and is driven through `httpx.ASGITransport` by `--clients` concurrent clients, so
one profile holds the whole opening: middlewares, validation, the transaction, the answer. Prints
the process CPU per request (driver included: compare runs of this same driver, not with the
HTTP bench), the same for `GET /healthz` (the floor of driver + app stack), then cProfile's top
functions by own time and by cumulative time. Logging is configured as `serve` does (WARNING).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
import uuid

import httpx

from bench.bench_intake import FORM, SECRET, prepare
from helpdesk_intake.bootstrap import build_app
from helpdesk_intake.settings import Settings
from helpdesk_shared.auth import issue_token
from helpdesk_shared.logging import configure_logging
from helpdesk_testkit.servers import create_database, drop_database, with_database


async def drive(
    client: httpx.AsyncClient, method: str, path: str, clients: int, total: int
) -> None:
    remaining = total

    async def one() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            response = await client.request(method, path, json=FORM if method == "POST" else None)
            if response.status_code not in (200, 201):
                raise RuntimeError(f"{response.status_code} {response.text[:300]}")

    await asyncio.gather(*(one() for _ in range(clients)))


async def cpu_per_request(
    client: httpx.AsyncClient, method: str, path: str, clients: int, total: int
) -> tuple[float, float]:
    """(CPU ms per request, wall ms per request) of this process."""
    cpu, wall = time.process_time(), time.perf_counter()
    await drive(client, method, path, clients, total)
    return (
        (time.process_time() - cpu) * 1000 / total,
        (time.perf_counter() - wall) * 1000 / total,
    )


async def run(
    database_url: str, total: int, clients: int, top: int, sort: str, callers: str
) -> None:
    settings = Settings(database_url=database_url, helpdesk_jwt_secret=SECRET, log_level="WARNING")
    configure_logging("intake", settings.log_level, settings.log_json)
    app = build_app(settings)
    token = issue_token(settings, "bench.agent", ["agent"])
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://intake", headers=headers
    ) as c:
        await drive(c, "POST", "/v1/requests", clients, 200)  # warm-up: pool, caches
        for method, path in (("GET", "/healthz"), ("POST", "/v1/requests")):
            cpu, wall = await cpu_per_request(c, method, path, clients, total)
            print(f"{method} {path}: {cpu:.2f} ms CPU/request, {wall:.2f} ms wall/request")
        profile = cProfile.Profile(time.process_time)  # CPU, not waits on PostgreSQL
        if top:
            profile.enable()
            await drive(c, "POST", "/v1/requests", clients, total)
            profile.disable()
    await app.state.knowledge_base.close()
    await app.state.engine.dispose()
    if not top:
        return
    stats = pstats.Stats(profile)
    stats.sort_stats(sort).print_stats(top)
    if callers:
        stats.print_callers(callers)


async def main(total: int, clients: int, top: int, sort: str, callers: str) -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    admin = with_database(url, "postgres")
    name = f"helpdesk_profile_intake_{uuid.uuid4().hex[:8]}"
    await create_database(admin, name)
    try:
        scratch = with_database(admin, name)
        await prepare(scratch)
        await run(scratch, total, clients, top, sort, callers)
    finally:
        await drop_database(admin, name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--top", type=int, default=40, help="0: no profile, CPU figures only")
    parser.add_argument("--sort", default="tottime", help="pstats key: tottime, cumulative...")
    parser.add_argument("--callers", default="", help="also print the callers of these functions")
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.clients, args.top, args.sort, args.callers))
