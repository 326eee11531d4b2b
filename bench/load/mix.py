"""The realistic mix: what the desk, the requesters, the telephony and the managers send.

Each arrival picks one operation by weight. Tickets opened by the load are driven through their
life (take, comment, escalate, route, resolve, close) by later "command" arrivals, oldest first,
one command in flight per ticket, so that every command is one the ticket's state allows: a 409
is then a bug, counted as an error like any 5xx.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from helpdesk_shared.auth import issue_token
from helpdesk_shared.settings import CommonSettings

#: Operation -> weight (per 100 arrivals). Each opened ticket needs six commands: commands
#: (54) against openings (10) leave a backlog of tickets in progress, as a real desk has.
WEIGHTS: dict[str, int] = {
    "open_phone": 7,
    "open_web": 3,
    "call": 5,
    "command": 54,
    "list": 8,
    "detail": 10,
    "kpis": 5,
    "notifications": 8,
}
#: Route kinds the report keeps apart (each command is its own kind: `command:take`...).
STEPS: tuple[tuple[str, str, dict[str, Any] | None], ...] = (
    ("take", "agent", None),
    (
        "comment",
        "agent",
        {"text": "Je prends la demande, je vous rappelle.", "visibility": "public"},
    ),
    ("escalate", "agent", {"reason": "Panne matérielle", "to_level": 2}),
    (
        "route",
        "manager",
        {"to_group": "reseau", "reason": "Le switch d'étage est en cause", "domain": "network"},
    ),
    (
        "resolve",
        "manager",
        {"solution": "Port du switch réactivé", "resolution_code": "network_fix"},
    ),
    ("close", "manager", {"code": "resolved"}),
)
PHONE_FORM: dict[str, Any] = {
    "channel": "phone",
    "subject": "Imprimante réseau hors service",
    "description": "L'imprimante du 2e étage ne répond plus depuis ce matin.",
    "category": "printers",
    "requester": {"login": "demo.alpha"},
}
WEB_FORM: dict[str, Any] = {
    "channel": "web",
    "subject": "Messagerie inaccessible",
    "description": "Outlook me demande mon mot de passe en boucle depuis la mise à jour.",
}
#: Requesters of the web requests: each stays far under intake's per-requester rate limit.
WEB_REQUESTERS = 200


@dataclass(frozen=True)
class Call:
    """One HTTP request to make: the service, method, path, who sends it and the body."""

    kind: str
    service: str
    method: str
    path: str
    who: str
    body: Any = None
    expected: tuple[int, ...] = (200,)
    params: dict[str, Any] | None = None


@dataclass
class Tickets:
    """Tickets opened by the load and the next step of each (FIFO: the oldest moves first)."""

    waiting: deque[tuple[str, int]] = field(default_factory=deque)
    known: list[str] = field(default_factory=list)
    closed: int = 0

    def opened(self, ticket_id: str) -> None:
        self.waiting.append((ticket_id, 0))
        self.known.append(ticket_id)

    def next_command(self) -> tuple[str, int] | None:
        return self.waiting.popleft() if self.waiting else None

    def done(self, ticket_id: str, step: int, ok: bool) -> None:
        """Put the ticket back for its next step (or the same one, when this one failed)."""
        following = step + 1 if ok else step
        if following < len(STEPS):
            self.waiting.append((ticket_id, following))
        else:
            self.closed += 1


def tokens(secret: str) -> dict[str, str]:
    """The desk's people (2 h tokens: longer than any run) and the web requesters."""
    settings = CommonSettings(helpdesk_jwt_secret=secret)
    ttl = 7200
    people = {
        "agent": issue_token(
            settings, "agent.n1", ["agent"], level=1, groups=["desk"], ttl_seconds=ttl
        ),
        "manager": issue_token(settings, "chef.desk", ["manager"], ttl_seconds=ttl),
        "telephony": issue_token(settings, "telephonie", ["service"], ttl_seconds=ttl),
    }
    for n in range(WEB_REQUESTERS):
        people[f"requester-{n}"] = issue_token(
            settings, f"load.user{n:03d}", ["requester"], ttl_seconds=ttl
        )
    return people


class Mix:
    """Turns an arrival into a `Call`, from a seeded random generator (reproducible mixes)."""

    def __init__(self, tickets: Tickets, seed: int = 9) -> None:
        self.tickets = tickets
        self._random = random.Random(seed)
        self._names = list(WEIGHTS)
        self._weights = list(WEIGHTS.values())
        self._requesters = itertools.cycle(range(WEB_REQUESTERS))

    def next_call(self) -> tuple[Call, tuple[str, int] | None]:
        """The call of the next arrival and, for a command, the (ticket, step) it moves."""
        name = self._random.choices(self._names, self._weights)[0]
        if name == "command":
            claimed = self.tickets.next_command()
            if claimed is None:
                return self._open_phone(), None
            return self._command(*claimed), claimed
        if name in ("detail",) and not self.tickets.known:
            return self._open_phone(), None
        return self._simple(name), None

    def _simple(self, name: str) -> Call:
        if name == "open_phone":
            return self._open_phone()
        if name == "open_web":
            who = f"requester-{next(self._requesters)}"
            return Call("open_web", "intake", "POST", "/v1/requests", who, WEB_FORM, (201,))
        if name == "call":
            return self._call()
        if name == "list":
            params = {
                "limit": 50,
                "status": self._random.choice(["opened", "in_progress", "assigned"]),
            }
            return Call("list", "ticket", "GET", "/v1/tickets", "agent", params=params)
        if name == "detail":
            ticket_id = self._random.choice(self.tickets.known[-500:])
            suffix = self._random.choice(["", "/history"])
            kind = "detail" if not suffix else "history"
            return Call(kind, "ticket", "GET", f"/v1/tickets/{ticket_id}{suffix}", "agent")
        if name == "kpis":
            return Call("kpis", "metrics", "GET", "/v1/kpis", "manager")
        params = {"limit": 50}
        return Call("notifications", "notify", "GET", "/v1/notifications", "manager", params=params)

    def _open_phone(self) -> Call:
        return Call("open_phone", "intake", "POST", "/v1/requests", "agent", PHONE_FORM, (201,))

    def _call(self) -> Call:
        offered = datetime.now(UTC) - timedelta(minutes=3)
        answered = self._random.random() < 0.85
        body: dict[str, Any] = {
            "call_id": f"load-{uuid.uuid4()}",
            "offered_at": offered.isoformat(),
            "caller": "+33 1 23 45 67 89",
            "queue": "desk",
        }
        if answered:
            body["answered_at"] = (offered + timedelta(seconds=20)).isoformat()
            body["agent"] = "agent.n1"
            body["ended_at"] = (offered + timedelta(minutes=2)).isoformat()
        else:
            body["abandoned_at"] = (offered + timedelta(seconds=45)).isoformat()
        return Call("call", "intake", "POST", "/v1/calls", "telephony", body, (201,))

    def _command(self, ticket_id: str, step: int) -> Call:
        command, who, body = STEPS[step]
        path = f"/v1/tickets/{ticket_id}/{command}"
        return Call(f"command:{command}", "ticket", "POST", path, who, body)
