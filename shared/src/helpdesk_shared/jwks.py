"""The identity provider's signing keys (JWKS), fetched without blocking the event loop and cached.

The keys are fetched with an async HTTP client when first needed, kept for `max_age` seconds,
and fetched again when a token names a key id the cache does not hold (the provider rotated
its keys), but at most once per `refresh_interval` seconds, so a flood of tokens with made-up
key ids cannot turn into a flood of requests to the provider. When the provider does not answer,
`IdentityProviderUnavailable` says so: the caller is answered 503 with `Retry-After`, not 401,
because the token may well be valid.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt


class IdentityProviderUnavailable(Exception):
    """The JWKS could not be fetched; `retry_after` is how long to wait before trying again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class JwksKeys:
    """Signing keys by key id, from the provider's JWKS URL."""

    def __init__(
        self,
        url: str,
        *,
        refresh_interval: float = 30.0,
        max_age: float = 600.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._refresh_interval = refresh_interval
        self._max_age = max_age
        self._timeout = timeout
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._failure: IdentityProviderUnavailable | None = None
        self._lock = asyncio.Lock()
        #: How many times the JWKS was fetched (read by tests and worth a metric).
        self.fetches = 0

    def cached(self, kid: str | None) -> Any | None:
        """The key if it is in the cache and the cache is fresh (no I/O)."""
        if self._fetched_at is None or self._clock() - self._fetched_at > self._max_age:
            return None
        return self._keys.get(kid or "")

    async def key_for(self, kid: str | None) -> Any:
        """The key a token names; fetched if unknown (rate limited); unknown key: invalid token."""
        key = self.cached(kid)
        if key is not None:
            return key
        async with self._lock:  # one fetch at a time; the others find its result
            key = self.cached(kid)
            if key is not None:
                return key
            if self._may_fetch():
                await self._fetch()
            elif self._failure is not None:
                raise self._failure  # it did not answer a moment ago: not asked again yet
            key = self._keys.get(kid or "")
        if key is None:
            raise jwt.InvalidTokenError(f"unknown signing key id {kid!r}")
        return key

    def _may_fetch(self) -> bool:
        if self._attempted_at is None:
            return True
        return self._clock() - self._attempted_at >= self._refresh_interval

    async def _fetch(self) -> None:
        retry_after = max(1, round(self._refresh_interval))
        self._attempted_at = self._clock()
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(self._url, headers={"Accept": "application/json"})
                response.raise_for_status()
                document = response.json()
            keys = jwt.PyJWKSet.from_dict(document).keys
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as error:
            self._failure = IdentityProviderUnavailable(
                f"the identity provider's keys could not be fetched: {type(error).__name__}",
                retry_after,
            )
            raise self._failure from error
        self._failure = None
        self.fetches += 1
        self._keys = {key.key_id: key.key for key in keys if key.key_id}
        self._fetched_at = self._clock()
