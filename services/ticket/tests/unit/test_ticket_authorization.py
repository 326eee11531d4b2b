import pytest

from helpdesk_shared.auth import Principal, Role
from helpdesk_ticket.application.authorization import can_read, may
from helpdesk_ticket.testing import opened, start

TICKET = start(opened(requester="alice", group="network", level=2))


def who(
    sub: str, *roles: Role, level: int | None = None, groups: tuple[str, ...] = ()
) -> Principal:
    return Principal(sub=sub, roles=frozenset(roles), level=level, groups=frozenset(groups))


@pytest.mark.parametrize(
    ("principal", "command", "allowed"),
    [
        (who("alice", Role.REQUESTER), "comment", True),
        (who("alice", Role.REQUESTER), "reopen", True),
        (who("alice", Role.REQUESTER), "rate", True),
        (who("alice", Role.REQUESTER), "take", False),
        (who("bruno", Role.REQUESTER), "comment", False),
        (who("nina", Role.AGENT, level=2, groups=("network",)), "take", True),
        (who("nina", Role.AGENT, level=1, groups=("network",)), "take", False),
        (who("bob", Role.AGENT, level=3, groups=("desk",)), "take", False),
        (who("nina", Role.AGENT, level=2, groups=("network",)), "rate", False),
        (who("max", Role.MANAGER), "route", True),
        (who("max", Role.MANAGER), "rate", False),
        (who("intake", Role.SERVICE), "comment", True),
    ],
)
def test_who_may_do_what(principal: Principal, command: str, allowed: bool) -> None:
    assert may(principal, command, TICKET) is allowed


def test_requesters_read_their_own_staff_read_all() -> None:
    assert can_read(who("alice", Role.REQUESTER), TICKET)
    assert not can_read(who("bruno", Role.REQUESTER), TICKET)
    assert can_read(who("bob", Role.AGENT, level=1, groups=("desk",)), TICKET)
