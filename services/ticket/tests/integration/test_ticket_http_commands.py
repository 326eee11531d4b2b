"""The commands the lifecycle test does not walk through: assign, hold/resume, consent,
appointments, reopening by the requester."""

from datetime import date, timedelta

import httpx

#: An appointment day a month ahead (a fixed date would one day be in the past).
IN_A_MONTH = date.today() + timedelta(days=30)


async def test_hold_consent_schedule_and_reopen(
    client: httpx.AsyncClient, auth, open_ticket
) -> None:
    ticket_id = await open_ticket(requester="alice", organisation_kind="eple")
    base = f"/v1/tickets/{ticket_id}"
    boss = auth("max", "manager")
    bob = auth("bob", "agent", groups=["desk"], level=1)
    alice = auth("alice", "requester")

    assigned = await client.post(
        f"{base}/assign", headers=boss, json={"group": "desk", "agent": "bob"}
    )
    assert assigned.json()["status"] == "assigned"
    assert assigned.json()["assignee"] == "bob"

    held = await client.post(
        f"{base}/hold", headers=bob, json={"reason": "waiting_requester", "detail": "absent"}
    )
    assert held.json()["status"] == "on_hold"
    resolution = next(d for d in held.json()["sla"] if d["target"] == "resolution")
    assert resolution["paused"] is True
    assert resolution["deadline"] is None
    assert "resume" in held.json()["allowed_commands"]

    consent = await client.post(
        f"{base}/record-consent", headers=bob, json={"granted": True, "channel": "phone"}
    )
    assert consent.json()["remote_maintenance_consent"] is True
    scheduled = await client.post(
        f"{base}/schedule",
        headers=bob,
        json={"kind": "remote", "starts_at": f"{IN_A_MONTH}T09:00:00+01:00"},
    )
    assert scheduled.status_code == 200, scheduled.text
    assert scheduled.json()["appointments"][0]["kind"] == "remote"
    naive = await client.post(
        f"{base}/schedule", headers=bob, json={"kind": "remote", "starts_at": f"{IN_A_MONTH}T09:00"}
    )
    assert naive.status_code == 422

    resumed = await client.post(f"{base}/resume", headers=bob)
    assert resumed.json()["status"] == "assigned"
    resolved = await client.post(
        f"{base}/resolve",
        headers=bob,
        json={"solution": "pilote réinstallé", "resolution_code": "fix"},
    )
    assert resolved.json()["resolution"]["first_contact"] is False  # it was put on hold
    assert "reopen" in (await client.get(base, headers=alice)).json()["allowed_commands"]
    reopened = await client.post(f"{base}/reopen", headers=alice, json={"reason": "toujours KO"})
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "assigned"
    assert reopened.json()["reopenings"] == 1


async def test_out_of_scope_request_is_closed_with_its_follow_up(
    client: httpx.AsyncClient, auth, open_ticket
) -> None:
    ticket_id = await open_ticket()
    bob = auth("bob", "agent", groups=["desk"], level=1)
    closed = await client.post(
        f"/v1/tickets/{ticket_id}/close",
        headers=bob,
        json={
            "code": "out_of_scope",
            "reason": "imprimante achetée après la signature du contrat",
            "follow_up": "transmis au responsable pour une extension du contrat",
        },
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["closure_code"] == "out_of_scope"
    assert closed.json()["allowed_commands"] == []  # nothing to reopen, the requester rates


async def test_a_routed_category_suggests_its_group(
    client: httpx.AsyncClient, auth, open_ticket
) -> None:
    ticket_id = await open_ticket()
    bob = auth("bob", "agent", groups=["desk"], level=1)
    qualified = await client.post(
        f"/v1/tickets/{ticket_id}/qualify",
        headers=bob,
        json={"type": "incident", "category": "servers", "impact": "medium", "urgency": "low"},
    )
    assert qualified.json()["suggested_group"] == "servers"
    assert qualified.json()["priority"] == "P4"


async def test_a_breakdown_the_user_caused_is_reinstalled_with_its_cause(
    client: httpx.AsyncClient, auth, open_ticket
) -> None:
    ticket_id = await open_ticket()
    base = f"/v1/tickets/{ticket_id}"
    bob = auth("bob", "agent", groups=["desk"], level=1)
    reinstall = {
        "solution": "Système réinstallé, paramètres initiaux",
        "resolution_code": "reinstall",
    }

    no_cause = await client.post(f"{base}/resolve", headers=bob, json=reinstall)
    assert no_cause.status_code == 422, no_cause.text
    assert [e["field"] for e in no_cause.json()["errors"]] == ["cause"]
    assert "misuse" in no_cause.json()["errors"][0]["message"]
    unknown = await client.post(f"{base}/resolve", headers=bob, json={**reinstall, "cause": "x"})
    assert unknown.status_code == 422, unknown.text
    assert "cause" in [e.get("field") for e in unknown.json()["errors"]]

    cause = "software_outside_approved_base"
    resolved = await client.post(f"{base}/resolve", headers=bob, json={**reinstall, "cause": cause})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["resolution"]["code"] == "reinstall"
    assert resolved.json()["resolution"]["cause"] == cause
    view = await client.get(base, headers=bob)
    assert view.json()["resolution"]["cause"] == cause
    history = (await client.get(f"{base}/history", headers=bob)).json()
    recorded = [e["data"] for e in history if e["type"] == "TicketResolved"]
    assert [d["cause"] for d in recorded] == [cause]
