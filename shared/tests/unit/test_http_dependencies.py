"""A part the bootstrap wired reaches a route without a hop to a worker thread."""

import threading
from typing import Annotated, Any

import httpx
from fastapi import FastAPI
from fastapi.datastructures import State

from helpdesk_shared.http.dependencies import from_state


class _RecordingState(State):
    """`app.state` noting the thread each part is read on."""

    threads: list[int] = []  # noqa: RUF012 (one list for the test, on the class: State keeps its own attributes in a dict)

    def __getattr__(self, key: Any) -> Any:
        _RecordingState.threads.append(threading.get_ident())
        return super().__getattr__(key)


async def test_a_part_is_read_on_the_event_loop_thread() -> None:
    app = FastAPI()
    app.state = _RecordingState({"clock": "the clock"})

    @app.get("/part")
    async def part(clock: Annotated[str, from_state("clock")]) -> dict[str, str]:
        return {"clock": clock}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.get("/part")
    assert answer.json() == {"clock": "the clock"}
    assert _RecordingState.threads == [threading.get_ident()]
