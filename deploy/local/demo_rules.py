"""The desk's rules played during the demo day: a complaint, an EPLE's remote maintenance, a reply.

Why: these are the rules the users' documents state (docs/commitments.md: complaints, remote
maintenance with consent, "le problème persiste"); the demo day plays each once, over HTTP only,
so a demo shows them and the demo day's test proves a running stack honours them.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deploy.local.demo_day import Desk

#: The demo school, added to the directory the first time (an EPLE of its academy).
SCHOOL = {
    "login": "demo.college",
    "name": "Paul Lefèvre",
    "email": "paul.lefevre@college-hugo.example",
    "organisation": "Collège Victor Hugo",
    "organisation_kind": "eple",
    "academy": "Créteil",
}
#: The demo requester whose e-mail address the directory knows (replies come from it).
MAIL_REQUESTER = ("demo.alpha", "Alice Martin <alice.martin@alpha.example>")
DESK_ADDRESS = "support@helpdesk.example"


def open_complaint(desk: Desk, tally: Counter[str]) -> Any:
    """A requester complains: intake makes it a complaint (REC-) for management, who answers."""
    form = {
        "channel": "web",
        "subject": "Réclamation sur le délai de traitement",
        "description": "Je dépose une réclamation : ma demande attend depuis trois semaines.",
        "requester": {"login": "demo.beta"},
    }
    opened = desk.call("agent", "intake", "POST", "/v1/requests", json=form)
    tally["opened"] += 1
    if not str(opened["reference"]).startswith("REC-"):
        raise RuntimeError(f"the complaint was opened as {opened['reference']}")
    tid = opened["ticket_id"]
    desk.command("manager", tid, "take")
    answer = "Excuses présentées, la demande en attente est traitée en priorité"
    desk.command("manager", tid, "resolve", {"solution": answer, "resolution_code": "answered"})
    desk.command("manager", tid, "close", {"code": "resolved"})
    tally["complaints"] += 1
    tally["closed"] += 1
    return opened


def ensure_school(desk: Desk) -> None:
    """Add the demo EPLE's staff member to the directory unless already there."""
    wanted = {"organisation": SCHOOL["organisation"], "limit": 500}
    found = desk.call("agent", "intake", "GET", "/v1/requesters", params=wanted)
    if not any(r.get("login") == SCHOOL["login"] for r in found):
        desk.call("agent", "intake", "POST", "/v1/requesters", json=SCHOOL)


def remote_session(desk: Desk, tally: Counter[str]) -> Any:
    """An EPLE's workstation: the agent records the consent, then books a remote session."""
    ensure_school(desk)
    form = {
        "channel": "phone",
        "subject": "Poste de la salle des professeurs très lent",
        "description": "Le poste met dix minutes à démarrer (journée de démonstration).",
        "category": "workstation",
        "requester": {"login": SCHOOL["login"]},
    }
    opened = desk.call("agent", "intake", "POST", "/v1/requests", json=form)
    tally["opened"] += 1
    tid = opened["ticket_id"]
    desk.command("agent", tid, "take")
    desk.command("agent", tid, "record-consent", {"granted": True, "channel": "phone"})
    starts = (datetime.now(tz=UTC) + timedelta(days=1)).replace(microsecond=0)
    note = "Télémaintenance acceptée par téléphone"
    session = {"kind": "remote", "starts_at": starts.isoformat(), "note": note}
    desk.command("agent", tid, "schedule", session)
    tally["remote_sessions"] += 1
    return opened


def _reply(reference: str, run: str, body: str) -> bytes:
    """The requester's answer to the closure e-mail, threaded by the reference, quoting it."""
    lines = [
        f"From: {MAIL_REQUESTER[1]}",
        f"To: {DESK_ADDRESS}",
        f"Subject: Re: [{reference}] Clôture de votre ticket",
        f"Message-ID: <demo-reply-{run}@alpha.example>",
        f"Date: {datetime.now(tz=UTC).strftime('%a, %d %b %Y %H:%M:%S +0000')}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        body,
        "",
        "Le guichet DSI a écrit :",
        "> Votre ticket est clos. Si le problème persiste, répondez à ce courriel.",
    ]
    return "\r\n".join(lines).encode()


def reply_after_closure(desk: Desk, run: str, tally: Counter[str]) -> Any:
    """A ticket resolved and closed; its requester answers the closure e-mail: it persists."""
    form = {
        "channel": "web",
        "subject": "Impression impossible depuis le poste",
        "description": "Les impressions n'arrivent pas (journée de démonstration).",
        "category": "printers",
        "requester": {"login": MAIL_REQUESTER[0]},
    }
    opened = desk.call("agent", "intake", "POST", "/v1/requests", json=form)
    tally["opened"] += 1
    tid = opened["ticket_id"]
    desk.command("agent", tid, "take")
    done = {"solution": "Pilote d'impression réinstallé", "resolution_code": "fixed"}
    desk.command("agent", tid, "resolve", done)
    desk.command("agent", tid, "close", {"code": "resolved"})
    tally["closed"] += 1
    raw = _reply(opened["reference"], run, "Bonjour,\r\nle problème persiste.\r\nAlice")
    headers = {"Content-Type": "message/rfc822"}
    handled = desk.call(
        "gateway", "intake", "POST", "/v1/inbound-emails", content=raw, headers=headers
    )
    if handled.get("disposition") != "reopened" or handled.get("ticket_id") != tid:
        raise RuntimeError(f"the reply to {opened['reference']} did not reopen it: {handled}")
    tally["reopened"] += 1
    return opened


def play_rules(desk: Desk, run: str, tally: Counter[str]) -> None:
    """The three rules, once each."""
    open_complaint(desk, tally)
    remote_session(desk, tally)
    reply_after_closure(desk, run, tally)
