"""An unreachable ticket service is not asked again for a short pause, then asked again.

The ticket service's HTTP answers are played by `httpx.MockTransport` (a refused connection, then
articles); the clock is the test's, so no test waits.
"""

import uuid

import httpx

from helpdesk_intake.adapters.knowledge import KnowledgeBase

ARTICLE = {"id": "a1", "title": "Imprimantes", "symptom": "s", "category": "printers"}


class TicketService:
    """Refuses connections while `down`, else answers one article; counts the attempts."""

    def __init__(self) -> None:
        self.down = True
        self.attempts = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.down:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=[ARTICLE])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def ask(knowledge: KnowledgeBase) -> list[dict[str, object]]:
    return await knowledge.suggestions(
        "Bearer t", "imprimante", category="printers", ticket_id=uuid.uuid4()
    )


async def test_an_unreachable_ticket_service_is_left_alone_for_the_pause() -> None:
    service, clock = TicketService(), Clock()
    knowledge = KnowledgeBase(
        "http://ticket",
        0.5,
        pause_seconds=5.0,
        clock=clock,
        transport=httpx.MockTransport(service.handle),
    )
    assert await ask(knowledge) == []
    service.down = False
    clock.now += 4.9
    assert await ask(knowledge) == []
    assert service.attempts == 1
    clock.now += 0.2
    assert [a["title"] for a in await ask(knowledge)] == ["Imprimantes"]
    assert service.attempts == 2
    await knowledge.close()


async def test_a_refusal_by_status_does_not_pause_the_suggestions() -> None:
    """A 403 is about this caller's token, not the service being down."""
    attempts: list[int] = []

    def forbidden(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        return httpx.Response(403, json={"title": "Accès refusé"})

    knowledge = KnowledgeBase("http://ticket", 0.5, transport=httpx.MockTransport(forbidden))
    assert await ask(knowledge) == []
    assert await ask(knowledge) == []
    assert len(attempts) == 2
    await knowledge.close()
