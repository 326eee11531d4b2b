"""The command routes read `If-Match` and `Idempotency-Key` themselves, as `Header` did.

Their OpenAPI parameters are the ones FastAPI writes for `str | None` `Header` parameters, and
the values reach the handler as they did: the first of each header, or None when absent.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, FastAPI, Header, Request, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel

from helpdesk_shared.auth import TokenVerifier, issue_token
from helpdesk_shared.http.idempotency import HEADER, KEY_DESCRIPTION, KeyHeader
from helpdesk_shared.settings import CommonSettings
from helpdesk_ticket.entrypoints.command_routes import (
    CommandBody,
    CommandRoute,
    add_command_routes,
    header_parameter,
)

DESCRIPTION = "The thing's version as sent in `ETag`; 412 when it moved on."
IfMatch = Annotated[str | None, Header(description=DESCRIPTION)]


def test_the_documented_headers_are_those_of_header_parameters() -> None:
    app = FastAPI()

    @app.post("/things/{thing_id}")
    async def declared(
        thing_id: int,
        if_match: IfMatch = None,
        idempotency_key: KeyHeader = None,
    ) -> None:
        return None

    parameters = app.openapi()["paths"]["/things/{thing_id}"]["post"]["parameters"]
    assert parameters[1:] == [
        header_parameter("if-match", DESCRIPTION),
        header_parameter(HEADER, KEY_DESCRIPTION),
    ]


class Note(CommandBody):
    text: str


class Seen(BaseModel):
    if_match: str | None
    key: str | None


def _app(idempotent: bool) -> FastAPI:
    router = APIRouter(prefix="/v1/things")

    async def run(
        request: Request,
        response: Response,
        principal: Any,
        thing_id: UUID,
        payload: CommandBody,
        if_match: str | None,
        **keyed: str | None,
    ) -> Seen:
        return Seen(if_match=if_match, key=keyed.get("idempotency_key", "not passed"))

    add_command_routes(
        router,
        resource="thing",
        table={"note": CommandRoute(Note, "Command: note")},
        run=run,
        response_model=Seen,
        idempotent=idempotent,
    )
    app = FastAPI()
    app.state.token_verifier = TokenVerifier(CommonSettings())
    app.include_router(router)
    return app


def _post(app: FastAPI, headers: list[tuple[str, str]]) -> dict[str, Any]:
    token = issue_token(CommonSettings(), "someone", ["agent"])
    sent = [("authorization", f"Bearer {token}"), *headers]
    with TestClient(app) as client:
        answer = client.post(f"/v1/things/{uuid4()}/note", json={"text": "x"}, headers=sent)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_the_handler_gets_the_first_value_of_each_header_or_none() -> None:
    app = _app(idempotent=True)
    assert _post(app, []) == {"if_match": None, "key": None}
    sent = [("If-Match", '"3"'), ("if-match", '"4"'), ("idempotency-key", "k1")]
    assert _post(app, sent) == {"if_match": '"3"', "key": "k1"}


def test_a_route_that_is_not_idempotent_neither_passes_nor_documents_the_key() -> None:
    app = _app(idempotent=False)
    assert _post(app, [("Idempotency-Key", "k1")]) == {"if_match": None, "key": "not passed"}
    operation = app.openapi()["paths"]["/v1/things/{thing_id}/note"]["post"]
    assert [p["name"] for p in operation["parameters"]] == ["thing_id", "if-match"]
