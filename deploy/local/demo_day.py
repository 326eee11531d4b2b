"""`python -m deploy.local.demo_day [--tickets 30]`: play one day at the desk on a running stack.

Why: after `make up` the KPIs are empty; this drives the four services over HTTP only (as the
front ends would) so the dashboards and `GET /v1/kpis` show something real. It publishes a few
knowledge articles (once), reports calls, opens phone/web requests and one e-mail for the demo
requesters, then has agents take, resolve, escalate, route and close them; it also plays the
desk's rules once (`demo_rules`: a complaint, an EPLE's remote session with consent, a reply
after closure that reopens the ticket). Seeded, so two runs
play the same day (with new tickets and calls each time).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from deploy.local.demo_rules import play_rules
from helpdesk_shared.auth import issue_token
from helpdesk_shared.settings import CommonSettings

SERVICES = {"intake": 8001, "ticket": 8002, "metrics": 8004}
DESK = "support@helpdesk.example"

ARTICLES: tuple[dict[str, Any], ...] = (
    {
        "title": "Imprimante réseau hors ligne",
        "symptom": "L'imprimante apparaît hors ligne, les impressions restent en file d'attente.",
        "cause": "Le spouleur d'impression est bloqué ou l'imprimante a changé d'adresse IP.",
        "resolution_steps": [
            "Vérifier que l'imprimante est allumée et reliée au réseau",
            "Redémarrer le service Spouleur d'impression",
            "Supprimer puis ajouter de nouveau l'imprimante réseau",
        ],
        "category": "printers",
        "hardware": ["Imprimantes locales et en réseau"],
        "audience": "public",
    },
    {
        "title": "Réparer le profil Outlook",
        "symptom": "Outlook ne démarre plus ou demande le mot de passe en boucle.",
        "cause": "Le profil de messagerie est corrompu.",
        "resolution_steps": [
            "Fermer Outlook",
            "Panneau de configuration, Courrier, Afficher les profils",
            "Créer un nouveau profil et le définir par défaut",
        ],
        "category": "office_software",
        "software": ["Outlook"],
        "audience": "public",
    },
    {
        "title": "Accès refusé à un lecteur réseau",
        "symptom": "Le lecteur réseau partagé du service est déconnecté ou l'accès est refusé.",
        "cause": "Le mot de passe a changé depuis la connexion du lecteur.",
        "resolution_steps": [
            "Déconnecter le lecteur réseau",
            "Le reconnecter en cochant « Se reconnecter à l'ouverture de session »",
        ],
        "category": "workstation",
        "audience": "agents",
    },
)

#: The day's kinds of request, played in turn: (kind, channel, form fields).
SCENARIOS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("level1", "phone", {"subject": "Imprimante hors ligne", "category": "printers"}),
    ("escalate", "web", {"subject": "Écran bleu au démarrage", "category": "workstation"}),
    ("level1", "web", {"subject": "Outlook ne démarre plus", "category": "office_software"}),
    ("routed", "phone", {"subject": "Serveur de fichiers inaccessible", "category": "servers"}),
    ("route", "phone", {"subject": "Lecteur réseau déconnecté", "category": "workstation"}),
    ("out_of_scope", "phone", {"subject": "Mon PC personnel", "private": True}),
    ("routed", "web", {"subject": "Logiciel de paie bloqué", "category": "business_applications"}),
    ("out_of_scope", "phone", {"subject": "Bourrage imprimante laser", "asset_tag": "LASER-A-002"}),
    ("level1", "phone", {"subject": "Mot de passe Windows oublié", "category": "workstation"}),
)  # fmt: skip
REQUESTERS = ("demo.alpha", "demo.beta", "demo.gamma")
#: What the summary line counts (the last three: the desk's rules, played once a day).
SUMMARY = ("opened", "closed", "escalated", "routed", "complaints", "remote_sessions", "reopened")


class Unreachable(RuntimeError):
    """A service does not answer: the stack is not running (`make up`)."""


class Desk:
    """The people at the desk and the services they use, over HTTP."""

    def __init__(self, urls: dict[str, str], settings: CommonSettings) -> None:
        self.clients = {n: httpx.Client(base_url=u, timeout=30) for n, u in urls.items()}
        self.settings = settings
        self.tokens = {
            "agent": issue_token(settings, "agent.n1", ["agent"], level=1, groups=["desk"]),
            "manager": issue_token(settings, "chef.desk", ["manager"]),
            "gateway": issue_token(settings, "mail-gateway", ["service"]),
        }

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def check(self) -> None:
        for name, client in self.clients.items():
            try:
                client.get("/healthz").raise_for_status()
            except httpx.HTTPError as error:
                raise Unreachable(f"{name} at {client.base_url} does not answer: {error}") from None

    def call(self, who: str, service: str, method: str, path: str, **kw: Any) -> Any:
        token = self.tokens.get(who) or issue_token(self.settings, who, ["requester"])
        headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
        response = self.clients[service].request(method, path, headers=headers, **kw)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def command(self, who: str, ticket_id: str, name: str, body: Any = None) -> None:
        self.call(who, "ticket", "POST", f"/v1/tickets/{ticket_id}/{name}", json=body)


def publish_articles(desk: Desk) -> int:
    """Publish the articles not there yet (matched by title): re-runs add nothing."""
    added = 0
    for article in ARTICLES:
        wanted = {"q": article["title"], "limit": 100}
        hits = desk.call("manager", "ticket", "GET", "/v1/articles", params=wanted)
        if any(h["title"] == article["title"] for h in hits):
            continue
        created = desk.call("manager", "ticket", "POST", "/v1/articles", json=article)
        desk.call("manager", "ticket", "POST", f"/v1/articles/{created['id']}/publish")
        added += 1
    return added


def report_call(desk: Desk, rng: random.Random, run: str, n: int, outcome: str) -> None:
    """The telephony system reports a call: answered quickly, answered late, or abandoned."""
    offered = datetime.now(tz=UTC) - timedelta(minutes=rng.randint(5, 120))
    report: dict[str, Any] = {"call_id": f"demo-{run}-{n}", "offered_at": offered.isoformat()}
    if outcome == "abandoned":
        report["abandoned_at"] = (offered + timedelta(seconds=rng.randint(20, 90))).isoformat()
    else:
        wait = rng.randint(5, 25) if outcome == "quick" else rng.randint(70, 240)
        answered = offered + timedelta(seconds=wait)
        report |= {
            "answered_at": answered.isoformat(),
            "ended_at": (answered + timedelta(minutes=rng.randint(2, 9))).isoformat(),
            "agent": "agent.n1",
            "queue": "desk",
        }
    desk.call("agent", "intake", "POST", "/v1/calls", json=report)


def open_request(desk: Desk, rng: random.Random, channel: str, fields: dict[str, Any]) -> Any:
    login = "demo.alpha" if "asset_tag" in fields else rng.choice(REQUESTERS)
    form = {
        "channel": channel,
        "description": f"{fields['subject']} (journée de démonstration).",
        "requester": {"login": login},
        **fields,
    }
    return desk.call("agent", "intake", "POST", "/v1/requests", json=form)


def send_email(desk: Desk, run: str) -> Any:
    """One raw RFC 5322 message, as the mail gateway hands it over."""
    raw = (
        "From: Alice Martin <alice.martin@alpha.example>\r\n"
        f"To: {DESK}\r\n"
        "Subject: =?utf-8?q?Acc=C3=A8s_refus=C3=A9_au_lecteur_r=C3=A9seau?=\r\n"
        f"Message-ID: <demo-{run}@alpha.example>\r\n"
        f"Date: {datetime.now(tz=UTC).strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        "Bonjour,\r\nle lecteur réseau de la comptabilité est inaccessible.\r\nAlice\r\n"
    ).encode()
    headers = {"Content-Type": "message/rfc822"}
    return desk.call(
        "gateway", "intake", "POST", "/v1/inbound-emails", content=raw, headers=headers
    )


def handle(desk: Desk, kind: str, opened: Any, tally: Counter[str]) -> None:
    """What the desk does with one ticket, by the kind of request."""
    tid = opened["ticket_id"]
    done = {"solution": "Résolu en ligne avec l'utilisateur", "resolution_code": "fixed"}
    if kind == "routed" or opened.get("routed_domain"):
        tally["routed"] += 1
        return  # in the other team's queue now
    if kind == "out_of_scope" or not opened.get("admissible", True):
        reason = (
            "; ".join(r.get("message", "") for r in opened.get("reasons", [])) or "Hors contrat"
        )
        follow = "Orienté vers le service achats / le prestataire de l'utilisateur"
        body = {"code": "out_of_scope", "reason": reason, "follow_up": follow}
        desk.command("manager", tid, "close", body)
        tally["closed"] += 1
        return
    desk.command("agent", tid, "take")
    if kind == "escalate":
        desk.command("agent", tid, "escalate", {"reason": "Panne matérielle", "to_level": 2})
        desk.command("manager", tid, "resolve", {**done, "resolution_code": "hardware_fix"})
        desk.command("manager", tid, "close", {"code": "resolved"})
        tally["escalated"] += 1
        tally["closed"] += 1
    elif kind == "route":
        route = {"to_group": "network", "reason": "Le partage est en cause", "domain": "network"}
        desk.command("agent", tid, "route", route)
        tally["routed"] += 1
    else:
        desk.command("agent", tid, "resolve", done)
        desk.command("agent", tid, "close", {"code": "resolved"})
        tally["closed"] += 1
        if not tally["rated"]:
            ticket = desk.call("manager", "ticket", "GET", f"/v1/tickets/{tid}")
            desk.command(ticket["requester"], tid, "rate", {"score": 5, "comment": "Merci !"})
            tally["rated"] += 1


def progress_line(done: int, tickets: int, tally: Counter[str]) -> str:
    """The line printed every `--every` tickets, so a long day shows it is moving."""
    counts = ", ".join(f"{k} {tally[k]}" for k in SUMMARY if tally[k])
    return f"tickets {done}/{tickets}: {counts}"


def play_day(desk: Desk, tickets: int, seed: int, every: int = 0) -> Counter[str]:
    """Calls, requests, one e-mail and the desk's rules; each handled at once (a compressed day).

    Every `every` tickets (0: never) a progress line is printed."""
    rng, run, tally = random.Random(seed), uuid.uuid4().hex[:8], Counter[str]()
    for n in range(tickets):
        if every > 0 and n > 0 and n % every == 0:
            print(progress_line(n, tickets, tally), flush=True)
        kind, channel, fields = SCENARIOS[n % len(SCENARIOS)]
        if channel == "phone":
            report_call(desk, rng, run, n, rng.choice(("quick", "quick", "late")))
        if n % 4 == 3:
            report_call(desk, rng, run, 1000 + n, "abandoned")
        opened = open_request(desk, rng, channel, fields)
        tally["opened"] += 1
        handle(desk, kind, opened, tally)
    mail = send_email(desk, run)
    tally["opened"] += mail.get("disposition") == "opened"
    play_rules(desk, run, tally)
    return tally


def kpis(desk: Desk, opened: int, wait: float) -> Any:
    """The KPIs once the metrics service has counted the day (it follows the events)."""
    deadline = time.monotonic() + wait
    while True:
        report = desk.call("manager", "metrics", "GET", "/v1/kpis")
        counted = sum(sum(c.values()) for c in report["opened_per_day"].values())
        if counted >= opened or time.monotonic() > deadline:
            return report
        time.sleep(1)


def urls_from_env() -> dict[str, str]:
    return {
        name: os.environ.get(f"HELPDESK_{name.upper()}_URL", f"http://127.0.0.1:{port}")
        for name, port in SERVICES.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tickets", type=int, default=30, help="requests to open (default 30)")
    parser.add_argument("--seed", type=int, default=8, help="random seed (default 8)")
    parser.add_argument("--wait", type=float, default=30, help="seconds to wait for the KPIs")
    parser.add_argument(
        "--every",
        type=int,
        default=10,
        help="a progress line every N tickets (default 10, 0: none)",
    )
    args = parser.parse_args(argv)
    desk = Desk(urls_from_env(), CommonSettings())
    try:
        desk.check()
        print(f"articles published: {publish_articles(desk)} new")
        tally = play_day(desk, max(args.tickets, 0), args.seed, args.every)
        report = kpis(desk, tally["opened"], args.wait)
    except (Unreachable, httpx.TransportError) as error:
        print(f"demo day: a service is unreachable ({error}); is the stack up (`make up`)?",
              file=sys.stderr)  # fmt: skip
        return 2
    finally:
        desk.close()
    print(", ".join(f"{k} {tally[k]}" for k in SUMMARY))
    for c in report["commitments"]:
        value = "n/a" if c["value"] is None else f"{c['value']:.0%}"
        print(f"- {c['title']}: {value} (target {c['target']:.0%}, {c['comparison']}; "
              f"{c['numerator']}/{c['denominator']}, met: {c['met']})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
