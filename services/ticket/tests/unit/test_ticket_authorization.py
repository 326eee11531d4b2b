import pytest

from helpdesk_shared.auth import Principal, Role
from helpdesk_ticket.application.authorization import ReadScope, can_read, may, read_scope
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


@pytest.mark.parametrize(
    ("principal", "readable"),
    [
        (who("alice", Role.REQUESTER), True),  # its own
        (who("bruno", Role.REQUESTER), False),
        (who("bruno", Role.REQUESTER, groups=("network",)), False),  # groups need the agent role
        (who("nina", Role.AGENT, level=1, groups=("network",)), True),  # any level of its group
        (who("paul", Role.AGENT, level=3, groups=("n2-poste",)), False),
        (who("paul", Role.AGENT, level=2, groups=("n2-poste", "network")), True),
        (who("lone", Role.AGENT, level=2), False),  # no groups claim: own tickets only
        (who("bob", Role.AGENT, level=1, groups=("desk",)), True),  # the desk follows all up
        (who("max", Role.MANAGER), True),
        (who("root", Role.ADMIN), True),
        (who("intake", Role.SERVICE), True),
    ],
)
def test_who_reads_the_ticket(principal: Principal, readable: bool) -> None:
    assert can_read(principal, TICKET) is readable


def test_an_agent_reads_a_ticket_of_another_group_when_it_is_its_own() -> None:
    assert can_read(who("alice", Role.AGENT, level=1, groups=("n2-poste",)), TICKET)


def test_reading_follows_the_current_group() -> None:
    routed = start(opened(requester="alice", group="n2-poste", level=2))
    n2 = who("paul", Role.AGENT, level=2, groups=("n2-poste",))
    assert can_read(n2, routed)
    assert not can_read(who("nina", Role.AGENT, level=2, groups=("network",)), routed)


def test_the_read_scope_is_what_lists_filter_on() -> None:
    assert read_scope(who("max", Role.MANAGER)) is None
    assert read_scope(who("bob", Role.AGENT, groups=("desk", "network"))) is None
    assert read_scope(who("alice", Role.REQUESTER, groups=("desk",))) == ReadScope(
        "alice", frozenset()
    )
    assert read_scope(who("paul", Role.AGENT, groups=("n2-poste",))) == ReadScope(
        "paul", frozenset({"n2-poste"})
    )
