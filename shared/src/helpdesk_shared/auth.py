"""Bearer-token auth for every service (claims in docs/contracts.md: sub, roles, level, groups).

HS256 with a shared secret for development; RS256 with keys from a JWKS URL in production (an
audience and an issuer are then required settings; the keys are fetched and cached by
`helpdesk_shared.jwks`, and a provider that does not answer gives 503, not 401). The algorithm is
fixed by configuration, never taken from the token, so `alg: none` and algorithm confusion are
refused.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from helpdesk_shared.http.problems import Problem
from helpdesk_shared.jwks import IdentityProviderUnavailable, JwksKeys
from helpdesk_shared.settings import CommonSettings

#: The single desk's support group (a new ticket starts at level 1 in it: docs/contracts.md).
DESK_GROUP = "desk"


class Role(StrEnum):
    REQUESTER = "requester"
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"
    SERVICE = "service"


@dataclass(frozen=True)
class Principal:
    """Who is calling, from the verified token. Its role checks are worked out once (a
    command asks them a dozen times, and a verified token's principal is reused)."""

    sub: str
    roles: frozenset[Role]
    level: int | None = None
    groups: frozenset[str] = field(default_factory=frozenset)

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @cached_property
    def is_staff(self) -> bool:
        """Agents, managers, admins and other services act on tickets that are not their own."""
        return self.has(Role.AGENT, Role.MANAGER, Role.ADMIN, Role.SERVICE)

    @cached_property
    def sees_everything(self) -> bool:
        return self.has(Role.MANAGER, Role.ADMIN, Role.SERVICE)

    @cached_property
    def reads_every_ticket(self) -> bool:
        """Managers, admins and services; and the single desk's agents, who follow up every
        ticket (the desk "assure le suivi quotidien de tous les tickets": docs/desk-rules.md).
        Other agents read the tickets of their groups only (docs/contracts.md)."""
        return self.sees_everything or (self.has(Role.AGENT) and DESK_GROUP in self.groups)


#: How long a verified token is answered from memory at most (never past its own expiry).
REUSE_SECONDS = 60.0
#: How many verified tokens are remembered (the least recently used are forgotten first).
VERIFIED_TOKENS = 4096


class TokenVerifier:
    """Checks a token's signature, expiry and claims and turns it into a `Principal`."""

    def __init__(self, settings: CommonSettings, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        #: Tokens already verified: token -> (principal, until when it may be reused).
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._algorithm = settings.helpdesk_jwt_algorithm
        self._audience = settings.helpdesk_jwt_audience
        self._issuer = settings.helpdesk_jwt_issuer
        self._secret = settings.helpdesk_jwt_secret
        self._jwks = (
            JwksKeys(
                settings.helpdesk_jwks_url,
                refresh_interval=settings.helpdesk_jwks_refresh_seconds,
                max_age=settings.helpdesk_jwks_max_age_seconds,
                timeout=settings.helpdesk_jwks_timeout_seconds,
            )
            if settings.helpdesk_jwks_url
            else None
        )

    async def verify_async(self, token: str) -> Principal:
        """`verify`, the identity provider's keys fetched first when the token names one not
        in the cache (without blocking the event loop). Raises `IdentityProviderUnavailable`
        when the provider does not answer."""
        if self._jwks is not None and self._remembered(token) is None:
            await self._jwks.key_for(_key_id(token))
        return self.verify(token)

    def _remembered(self, token: str) -> Principal | None:
        known = self._verified.get(token)
        return known[0] if known is not None and self._clock() < known[1] else None

    def verify(self, token: str) -> Principal:
        """The caller of a valid token. A token verified before is answered from memory until it
        expires or for `REUSE_SECONDS` at most: a client sends the same token with every
        request, and checking its signature again cost a few percent of a command's CPU. Only
        tokens that passed every check are remembered, so a forged or expired one is refused
        each time it is sent; the bound keeps a key withdrawn from the JWKS honoured no longer
        than the JWKS client's own key cache would."""
        now = self._clock()
        known = self._verified.pop(token, None)
        if known is not None and now < known[1]:
            self._verified[token] = known  # the most recently used, forgotten last
            return known[0]
        principal, expires = self._check(token)
        self._verified[token] = (principal, min(expires, now + REUSE_SECONDS))
        while len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return principal

    def _check(self, token: str) -> tuple[Principal, float]:
        """Signature, expiry and claims, checked by PyJWT: the principal and its token's expiry."""
        key: Any = self._secret
        if self._jwks is not None:
            key = self._jwks.cached(_key_id(token))
            if key is None:
                raise jwt.InvalidTokenError("signing key not known (yet)")
        claims = jwt.decode(
            token,
            key,
            algorithms=[self._algorithm],
            audience=self._audience,
            issuer=self._issuer,
            options={"require": ["sub", "exp"], "verify_aud": self._audience is not None},
        )
        return principal_from_claims(claims), float(claims["exp"])


def _key_id(token: str) -> str | None:
    kid = jwt.get_unverified_header(token).get("kid")
    return kid if isinstance(kid, str) else None


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    roles = claims.get("roles", [])
    groups = claims.get("groups", [])
    level = claims.get("level")
    if not isinstance(roles, list) or not isinstance(groups, list):
        raise jwt.InvalidTokenError("roles and groups must be lists")
    if level is not None and (not isinstance(level, int) or not 1 <= level <= 3):
        raise jwt.InvalidTokenError("level must be 1, 2 or 3")
    known = {r.value for r in Role}
    return Principal(
        sub=str(claims["sub"]),
        roles=frozenset(Role(r) for r in roles if r in known),
        level=level,
        groups=frozenset(str(g) for g in groups),
    )


def issue_token(
    settings: CommonSettings,
    sub: str,
    roles: list[str],
    *,
    level: int | None = None,
    groups: list[str] | None = None,
    ttl_seconds: int = 3600,
) -> str:
    """An HS256 token for development, demos and tests (production tokens come from the IdP)."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "roles": roles, "iat": now, "exp": now + ttl_seconds}
    if level is not None:
        claims["level"] = level
    if groups is not None:
        claims["groups"] = groups
    if settings.helpdesk_jwt_audience:
        claims["aud"] = settings.helpdesk_jwt_audience
    if settings.helpdesk_jwt_issuer:
        claims["iss"] = settings.helpdesk_jwt_issuer
    return jwt.encode(claims, settings.helpdesk_jwt_secret, algorithm="HS256")


class BearerPrincipal(HTTPBearer):
    """FastAPI dependency: the verified caller, or 401 problem details.

    One dependency that reads the `Authorization` header itself and verifies the token, rather
    than a function depending on `HTTPBearer`: every request of every route solves it, and the
    sub-dependency cost FastAPI one more level of solving per request (about a tenth of its
    dependency handling on a ticket command). Being an `HTTPBearer`, FastAPI still documents
    the bearer scheme (`HTTPBearer` in the OpenAPI document) on every route that depends on it.
    """

    def __init__(self) -> None:
        super().__init__(scheme_name="HTTPBearer", auto_error=False)

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem(
                401,
                "Authentification requise",
                "A bearer token is required.",
                headers={"WWW-Authenticate": 'Bearer realm="helpdesk"'},
            )
        verifier: TokenVerifier = request.app.state.token_verifier
        try:
            return await verifier.verify_async(token.strip())
        except IdentityProviderUnavailable as error:
            raise Problem(
                503,
                "Fournisseur d'identité indisponible",
                f"The bearer token could not be checked: {error}; retry later.",
                type_="urn:helpdesk:problem:identity-provider-unavailable",
                headers={"Retry-After": str(error.retry_after)},
            ) from None
        except (jwt.PyJWTError, ValueError) as error:
            raise Problem(
                401,
                "Jeton invalide",
                f"The bearer token was refused: {error}",
                headers={"WWW-Authenticate": _invalid_token_challenge(error)},
            ) from None


#: The dependency every authenticated route declares (`CurrentPrincipal`, `require_roles`).
current_principal = BearerPrincipal()


def _invalid_token_challenge(error: Exception) -> str:
    """RFC 6750 section 3: a refused token is `invalid_token`, with a description a client can
    log (quotes and backslashes are not allowed in it, so they are dropped)."""
    description = "".join(c for c in str(error) if c not in '"\\' and c.isprintable())[:200]
    return f'Bearer realm="helpdesk", error="invalid_token", error_description="{description}"'


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """FastAPI dependency factory: the caller must hold one of `roles` (403 otherwise)."""

    async def dependency(
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        if not principal.has(*roles):
            allowed = ", ".join(r.value for r in roles)
            raise Problem(403, "Accès refusé", f"This needs one of the roles: {allowed}.")
        return principal

    dependency.checks_roles = True  # type: ignore[attr-defined]  # read by the OpenAPI document
    return dependency


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
