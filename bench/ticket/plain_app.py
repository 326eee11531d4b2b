"""Baseline for the command benchmark: a plain FastAPI endpoint that inserts one row (asyncpg).

The benchmark starts it: `uvicorn bench.ticket.plain_app:app --port N`, with DATABASE_URL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI
from pydantic import BaseModel

POOL: dict[str, asyncpg.Pool] = {}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    dsn = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    POOL["pool"] = await asyncpg.create_pool(dsn, min_size=5, max_size=20)
    await POOL["pool"].execute(
        "CREATE TABLE IF NOT EXISTS public.bench_rows (id uuid PRIMARY KEY, ticket_id uuid, "
        "text text, created_at timestamptz DEFAULT now())"
    )
    yield
    await POOL["pool"].close()


app = FastAPI(lifespan=lifespan)


class Body(BaseModel):
    text: str


@app.post("/v1/tickets/{ticket_id}/comment")
async def comment(ticket_id: uuid.UUID, body: Body) -> dict[str, str]:
    row_id = uuid.uuid4()
    await POOL["pool"].execute(
        "INSERT INTO public.bench_rows (id, ticket_id, text) VALUES ($1, $2, $3)",
        row_id,
        ticket_id,
        body.text,
    )
    return {"id": str(row_id)}
