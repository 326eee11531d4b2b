"""Rate limits on public routes: a token bucket per caller, answered with 429 and `Retry-After`.

A caller is its verified token's subject, or its client IP when it sends no valid token (so a
flood of forged tokens is throttled too). Staff and other services have a bucket of their own,
sized separately, because the desk types in calls and the mail gateway pushes mail in bursts.
Buckets live in the process's memory: behind several replicas each holds its own share, which
is enough to stop one caller from flooding the desk (a shared limit would need Redis or the
gateway's). The number of buckets is bounded, oldest forgotten first, so memory stays flat.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass

import jwt
from starlette.types import ASGIApp, Receive, Scope, Send

from helpdesk_shared.auth import Principal, TokenVerifier
from helpdesk_shared.http.problems import Problem, problem_json, scope_header
from helpdesk_shared.jwks import IdentityProviderUnavailable

Clock = Callable[[], float]


@dataclass(frozen=True)
class Rate:
    """`per_minute` requests on average, up to `burst` at once; `per_minute=0` means no limit."""

    per_minute: float
    burst: int

    @property
    def unlimited(self) -> bool:
        return self.per_minute <= 0


class TokenBuckets:
    """One token bucket per key. `take` answers None (go ahead) or the seconds to wait."""

    def __init__(self, rate: Rate, *, clock: Clock = time.monotonic, max_keys: int = 10_000):
        self._rate = rate
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float | None:
        if self._rate.unlimited:
            return None
        now = self._clock()
        per_second = self._rate.per_minute / 60
        tokens, last = self._buckets.pop(key, (float(self._rate.burst), now))
        tokens = min(float(self._rate.burst), tokens + (now - last) * per_second)
        if tokens >= 1:
            self._remember(key, tokens - 1, now)
            return None
        self._remember(key, tokens, now)
        return (1 - tokens) / per_second

    def _remember(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)


class RateLimit:
    """ASGI middleware limiting the `(method, path)` routes in `routes`; others pass untouched."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Collection[tuple[str, str]],
        public: Rate,
        staff: Rate,
        verifier: TokenVerifier,
        clock: Clock = time.monotonic,
    ) -> None:
        self.app = app
        self._routes = frozenset(routes)
        self._public = TokenBuckets(public, clock=clock)
        self._staff = TokenBuckets(staff, clock=clock)
        self._verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) not in self._routes:
            await self.app(scope, receive, send)
            return
        principal = await self._principal(scope)
        if principal is not None and principal.is_staff:
            wait = self._staff.take(f"sub:{principal.sub}")
        elif principal is not None:
            wait = self._public.take(f"sub:{principal.sub}")
        else:
            client = scope.get("client")
            wait = self._public.take(f"ip:{client[0] if client else 'unknown'}")
        if wait is None:
            await self.app(scope, receive, send)
            return
        await _too_many(scope, receive, send, wait)

    async def _principal(self, scope: Scope) -> Principal | None:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer" or not token:
                    return None
                try:
                    return await self._verifier.verify_async(token.strip())
                except (jwt.PyJWTError, ValueError, IdentityProviderUnavailable):
                    return None
        return None


async def _too_many(scope: Scope, receive: Receive, send: Send, wait: float) -> None:
    seconds = max(1, math.ceil(wait))
    problem = Problem(
        429,
        "Trop de demandes",
        f"Too many requests from this caller; retry in {seconds} s.",
        type_="urn:helpdesk:problem:rate-limited",
        headers={"Retry-After": str(seconds)},
    )
    response = problem_json(problem, scope["path"], scope_header(scope, b"accept-language"))
    await response(scope, receive, send)
