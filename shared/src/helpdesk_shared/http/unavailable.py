"""A dependency that is down or too slow answers 503 with `Retry-After`, never 500.

During a PostgreSQL restart, a connection refused, a connection dropped mid-statement, a pool
that hands out no connection in time or a statement cancelled by `statement_timeout` is not a
bug of the service: the client can simply try again a little later. So every service maps these
failures, in this one place, to problem details the client can act on: status 503, a
`Retry-After` header (`HELPDESK_RETRY_AFTER_SECONDS`), `type`
`urn:helpdesk:problem:dependency-unavailable` and `dependency` naming what did not answer
(`database` or `broker`). The unit of work of such a request rolled back, unless the connection
dropped during its very COMMIT, which no server can tell: so the client retries with the same
`Idempotency-Key`, whose first answer is stored with the work (`helpdesk_shared.http.idempotency`),
and the retry is applied once either way.

The drivers do not always wrap what they raise: asyncpg's connection refused or
`command_timeout` reach the route as a bare `ConnectionRefusedError` or `TimeoutError`. Such an
`OSError` is attributed to the library whose code raised it (the innermost frame of its
traceback in asyncpg/SQLAlchemy or aio-pika/aiormq); an `OSError` from anywhere else stays a 500.
"""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aio_pika.exceptions
import asyncpg.exceptions
from fastapi import FastAPI, Request
from sqlalchemy import exc as sa_exc
from starlette.responses import Response

from helpdesk_shared.http.problems import Problem, problem_response

log = logging.getLogger(__name__)

Handler = Callable[[Request, Any], Response | Awaitable[Response]]
DEPENDENCY_UNAVAILABLE = "urn:helpdesk:problem:dependency-unavailable"

#: PostgreSQL's answers that mean "not now", not "never": the server is starting, shutting down,
#: in recovery or refusing connections (SQLSTATE classes 08 and 57: 57P01 to 57P05), lacks a
#: resource for the moment (class 53: no connection slot, memory, disk), or the statement was
#: cancelled by `statement_timeout` (57014, class 57).
_DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    sa_exc.TimeoutError,  # the pool handed out no connection within its timeout
)
#: "Object not in prerequisite state" (class 55) by exact SQLSTATE: the server or an object is not
#: in the state the statement needs yet (55000: e.g. recovery or a replication slot not in the
#: state asked for; 55006: the object is in use; 55P03: a lock not granted within `lock_timeout`
#: or NOWAIT). Not the whole class: 55P02 (a setting that cannot change now) and 55P04 (an enum
#: value used in the transaction that added it) are the statement's fault, retrying never helps.
_DATABASE_SQLSTATES = frozenset({"55000", "55006", "55P03"})
_BROKER_ERRORS: tuple[type[BaseException], ...] = (
    aio_pika.exceptions.AMQPConnectionError,
    aio_pika.exceptions.ChannelInvalidStateError,
)
#: Where a bare `OSError` was raised, by the top-level package of the code that raised it.
_LIBRARIES = {
    "asyncpg": "database",
    "sqlalchemy": "database",
    "aio_pika": "broker",
    "aiormq": "broker",
    "pamqp": "broker",
}


def unavailable_dependency(error: BaseException) -> str | None:
    """`database` or `broker` when `error` (or what caused it) says that dependency is down or
    too slow; None for any other error."""
    for seen in _chain(error):
        if isinstance(seen, _DATABASE_ERRORS) or _sqlstate(seen) in _DATABASE_SQLSTATES:
            return "database"
        if isinstance(seen, sa_exc.DBAPIError) and seen.connection_invalidated:
            return "database"
        if isinstance(seen, _BROKER_ERRORS):
            return "broker"
        if isinstance(seen, OSError):
            raised_by = _raised_by(seen)
            if raised_by is not None:
                return raised_by
    return None


def dependency_problem(dependency: str, retry_after: int) -> Problem:
    """The 503 a client can act on: what did not answer, and when to try again."""
    return Problem(
        503,
        "Service momentanément indisponible",
        f"The {dependency} did not answer in time. "
        f"Retry after {retry_after} seconds with the same Idempotency-Key, if any.",
        type_=DEPENDENCY_UNAVAILABLE,
        headers={"Retry-After": str(retry_after)},
        dependency=dependency,
    )


def install_unavailability_handlers(app: FastAPI, retry_after: int) -> None:
    """Answer 503 for the failures above on every route of `app`; any other error of the same
    classes keeps the handler it had (a database error: 422 or 500; anything else: 500)."""
    fallback_database: Handler = app.exception_handlers[sa_exc.DBAPIError]
    fallback: Handler = app.exception_handlers[Exception]

    def handler(previous: Handler) -> Handler:
        async def on_error(request: Request, error: Exception) -> Response:
            dependency = unavailable_dependency(error)
            if dependency is None:
                answer = previous(request, error)
                return await answer if inspect.isawaitable(answer) else answer
            log.warning(
                "%s unavailable on %s %s: %s: %s",
                dependency,
                request.method,
                request.url.path,
                type(error).__name__,
                error,
            )
            return problem_response(dependency_problem(dependency, retry_after), request)

        return on_error

    app.add_exception_handler(sa_exc.DBAPIError, handler(fallback_database))
    for kind in (
        OSError,
        sa_exc.TimeoutError,
        asyncpg.exceptions.PostgresError,
        asyncpg.exceptions.InterfaceError,
        aio_pika.exceptions.AMQPError,
    ):
        app.add_exception_handler(kind, handler(fallback))


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, what caused it, and SQLAlchemy's wrapped driver error, a few levels deep."""
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return
        yield seen
        original = getattr(seen, "orig", None)
        if isinstance(original, BaseException):
            yield original
        seen = seen.__cause__ or seen.__context__


def _sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE PostgreSQL answered, as asyncpg (`sqlstate`) or SQLAlchemy's adapter of it
    (`pgcode`) carries it; None for an error that is not PostgreSQL's."""
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return code if isinstance(code, str) else None


def _raised_by(error: BaseException) -> str | None:
    """The dependency whose client library raised `error` (its innermost frame of one)."""
    found: str | None = None
    for frame, _line in traceback.walk_tb(error.__traceback__):
        module = str(frame.f_globals.get("__name__", ""))
        found = _LIBRARIES.get(module.split(".")[0], found)
    return found
