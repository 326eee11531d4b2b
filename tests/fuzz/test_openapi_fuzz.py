"""Schemathesis fuzzing of every service's OpenAPI, in process, on a database of its own.

Each operation of each service gets `EXAMPLES` generated cases (valid and deliberately invalid
inputs, and the documented examples) sent with a manager's, then a requester's token. Checks: no
5xx answer, every status answered is declared for the operation, and every answer matches its
declared content type, schema and headers. The app runs on this test's event loop through
httpx's ASGI transport; Hypothesis runs in a worker thread and hands each request to that loop,
so the database engine stays on the loop that created it. The number of cases run per service
is printed (see docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import create_engine

SERVICES = ("intake", "ticket", "notify", "metrics")
EXAMPLES = 12
SECRET = "fuzz-tests-secret-0123456789abcdef-xyz"
#: Left out of the fuzzing, each with its reason, and said so: the test checks that these are
#: documented operations and the only ones left out, and prints them.
LEFT_OUT = {
    ("GET", "/readyz"): "readiness reports the broker connection of a running process, "
    "not how the service takes its input",
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@schemathesis.serializer("message/rfc822")
def _rfc822(ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    """Inbound mail is raw bytes; whatever was generated is sent as such."""
    if isinstance(value, bytes):
        return value
    text = value if isinstance(value, str) else json.dumps(value)
    return text.encode("utf-8", "surrogatepass")


def _build(service: str, database_url: str, amqp_url: str, exchange: str, prefix: str) -> Any:
    bootstrap = importlib.import_module(f"helpdesk_{service}.bootstrap")
    settings_class = importlib.import_module(f"helpdesk_{service}.settings").Settings
    # The rate limit would answer 429 to most cases of a requester: fuzz the routes instead.
    extra = {"intake_rate_limit_per_minute": 0} if service == "intake" else {}
    settings = settings_class(
        **extra,
        database_url=database_url,
        amqp_url=amqp_url,
        helpdesk_exchange=exchange,
        helpdesk_queue_prefix=prefix,
        helpdesk_jwt_secret=SECRET,
    )
    return settings, bootstrap.build_app


@pytest.fixture
async def fuzz_engine(fresh_database_url: str) -> AsyncIterator[Any]:
    engine = create_engine(fresh_database_url, pool_size=5, application_name="helpdesk-fuzz")
    yield engine
    await engine.dispose()


def _fuzz(
    app: FastAPI,
    client: httpx.AsyncClient,
    loop: asyncio.AbstractEventLoop,
    headers: dict[str, str],
) -> tuple[Counter[str], list[str], set[tuple[str, str]]]:
    """Runs in a worker thread: generate, send through the app's loop, check."""
    schema = schemathesis.openapi.from_dict(app.openapi())
    cases: Counter[str] = Counter()
    failures: list[str] = []
    left_out: set[tuple[str, str]] = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in LEFT_OUT:
            left_out.add((operation.method.upper(), operation.path))
            continue
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            _fuzz_operation(operation, mode, lambda request: _send(request, client, loop))(
                headers, cases, failures
            )
    return cases, failures, left_out


def _send(request: Any, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> Any:
    return asyncio.run_coroutine_threadsafe(request(client), loop).result(60)


def _fuzz_operation(
    operation: schemathesis.APIOperation, mode: schemathesis.GenerationMode, send: Any
) -> Any:
    label = f"{operation.method.upper()} {operation.path}"

    def run(headers: dict[str, str], cases: Counter[str], failures: list[str]) -> None:
        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def one(case: schemathesis.Case) -> None:
            kwargs = case.as_transport_kwargs(base_url="http://fuzz", headers=headers)
            response = send(_httpx_request(kwargs))
            cases[label] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as failure:
                failures.append(f"{label} ({mode.value}): {failure}"[:2500])

        # Nothing to negate: an operation without inputs has no invalid case.
        with contextlib.suppress(Unsatisfiable):
            one()

    return run


def _httpx_request(kwargs: dict[str, Any]) -> Any:
    """Schemathesis serialises for `requests`; the same request through httpx."""
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    data = kwargs.get("data")
    if isinstance(data, (bytes, str)):
        body["content"] = data
    elif data is not None:
        body["data"] = data
    params = {k: v for k, v in (kwargs.get("params") or {}).items() if v is not None}

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        return await client.request(
            kwargs["method"],
            kwargs["url"],
            headers=kwargs.get("headers"),
            params=params,
            **body,
        )

    return send


#: Whose token the cases carry: one who may do everything, and one whose answers are scoped.
CALLERS = {
    "manager": ("fuzz-manager", ["manager"]),
    "requester": ("fuzz-requester", ["requester"]),
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("service", SERVICES)
async def test_openapi_fuzz_no_server_error_and_schema_conformance(
    service: str,
    caller: str,
    fuzz_engine: Any,
    fresh_database_url: str,
    amqp_url: str,
    exchange_name: str,
    queue_prefix: str,
) -> None:
    settings_, build_app = _build(
        service, fresh_database_url, amqp_url, f"{exchange_name}.fuzz", f"{queue_prefix}-fuzz"
    )
    app: FastAPI = build_app(settings_, engine=fuzz_engine)
    sub, roles = CALLERS[caller]
    token = issue_token(settings_, sub, roles, level=3, groups=["desk"])
    headers = {"Authorization": f"Bearer {token}"}
    loop = asyncio.get_running_loop()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://fuzz") as client:
        cases, failures, left_out = await asyncio.to_thread(_fuzz, app, client, loop, headers)
        after = await client.get("/healthz")
    print(f"\n{service} as {caller}: {sum(cases.values())} cases over {len(cases)} operations")
    for method, path in sorted(left_out):
        print(f"  left out: {method} {path} ({LEFT_OUT[method, path]})")
    assert left_out == set(LEFT_OUT), "a left-out operation is no longer documented"
    documented = {
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    fuzzed = documented - {f"{m} {p}" for m, p in LEFT_OUT}
    assert set(cases) == fuzzed, f"never fuzzed: {sorted(fuzzed - set(cases))}"
    assert after.status_code == 200
    assert not failures, "\n\n".join(failures[:10])
