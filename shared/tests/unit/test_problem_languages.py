"""Problem titles follow `Accept-Language`: French by default, English when preferred."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel

from helpdesk_shared.http.app import create_app
from helpdesk_shared.http.problems import Problem, preferred_language
from helpdesk_shared.settings import CommonSettings


class Form(BaseModel):
    subject: str


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "fr"),
        ("", "fr"),
        ("fr-FR", "fr"),
        ("en", "en"),
        ("en-GB,en;q=0.9,fr;q=0.5", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("fr;q=0.4, en-US;q=0.7", "en"),
        ("de-DE,en;q=0.3", "en"),
        ("de-DE,es", "fr"),
        ("en;q=0, fr;q=0.1", "fr"),
        ("en;q=bogus", "fr"),
        ("*", "fr"),
    ],
)
def test_the_preferred_language_reads_q_values(header: str | None, language: str) -> None:
    assert preferred_language(header) == language


def _client() -> AsyncClient:
    router = APIRouter()

    @router.post("/v1/forms")
    async def submit(form: Form) -> Form:
        return form

    @router.get("/v1/gone")
    async def gone() -> None:
        raise Problem(404, "Introuvable", "No such thing.")

    app = create_app(
        service="test",
        version="0",
        settings=CommonSettings(),
        routers=[router],
        readiness_checks={},
    )
    return AsyncClient(transport=ASGITransport(app=app), base_url="http://test")


async def test_titles_are_french_by_default_and_english_when_preferred() -> None:
    async with _client() as client:
        french = await client.post("/v1/forms", json={})
        english = await client.post(
            "/v1/forms", json={}, headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"}
        )
        missing_fr = await client.get("/v1/gone", headers={"Accept-Language": "fr-FR"})
        missing_en = await client.get("/v1/gone", headers={"Accept-Language": "en"})
        unknown_en = await client.get("/v1/nowhere", headers={"Accept-Language": "en"})
        unknown_fr = await client.get("/v1/nowhere")
    assert french.json()["title"] == "Données invalides"
    assert french.headers["content-language"] == "fr"
    assert english.json()["title"] == "Invalid input"
    assert english.headers["content-language"] == "en"
    assert english.json()["errors"][0]["pointer"] == "#/subject"
    assert (missing_fr.json()["title"], missing_en.json()["title"]) == ("Introuvable", "Not found")
    assert missing_en.headers["content-language"] == "en"
    assert (unknown_fr.json()["title"], unknown_en.json()["title"]) == ("Introuvable", "Not found")
