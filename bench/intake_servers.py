"""The two servers `bench_intake` compares, each its own uvicorn process: the plain baseline
(FastAPI validating the form and inserting it with asyncpg) and starting either one."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from helpdesk_shared.db import asyncpg_dsn


class BaselineForm(BaseModel):
    type: str
    channel: str
    subject: str
    description: str
    requester: dict[str, Any]
    category: str | None = None


def baseline() -> FastAPI:
    """The plain baseline: validate the form, insert it, answer 201 (uvicorn `--factory`)."""
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(
            asyncpg_dsn(os.environ["DATABASE_URL"]), min_size=10, max_size=10
        )
        yield
        await state["pool"].close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/requests", status_code=201)
    async def submit(form: BaselineForm) -> dict[str, str]:
        ticket_id = uuid.uuid4()
        await state["pool"].execute(
            "INSERT INTO bench_baseline.requests (id, data) VALUES ($1, $2::jsonb)",
            ticket_id,
            form.model_dump_json(),
        )
        return {"ticket_id": str(ticket_id)}

    return app


@dataclass(frozen=True)
class Server:
    name: str
    url: str
    pid: int
    headers: dict[str, str]

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far (Linux `/proc`)."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serving(
    name: str,
    argv: list[str],
    env: dict[str, str],
    port: int,
    headers: dict[str, str],
    health: str,
) -> AsyncIterator[Server]:
    """Start one server process, wait for it to answer, stop it at the end."""
    process = await asyncio.create_subprocess_exec(
        *argv, env={**os.environ, **env}, stdout=asyncio.subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                if process.returncode is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}")
                try:
                    await client.get(f"{url}{health}")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        yield Server(name, url, process.pid, headers)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 15)
