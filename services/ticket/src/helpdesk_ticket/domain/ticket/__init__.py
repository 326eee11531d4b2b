"""The ticket aggregate: commands, state, rules (`decide`, with `transitions`, `policy` and the
SLA) and facts (`evolve`); `ticket_decider` gives it to the kernel with the desk's policy."""

from __future__ import annotations

from helpdesk_shared.events.ticket import TicketEvent
from helpdesk_shared.kernel import Decider
from helpdesk_ticket.domain.ticket.commands import Command
from helpdesk_ticket.domain.ticket.decide import decide
from helpdesk_ticket.domain.ticket.evolve import evolve
from helpdesk_ticket.domain.ticket.policy import DEFAULT_POLICY, TicketPolicy
from helpdesk_ticket.domain.ticket.state import Ticket


def ticket_decider(policy: TicketPolicy = DEFAULT_POLICY) -> Decider[Command, Ticket, TicketEvent]:
    """The ticket as the kernel runs it (stream `ticket-<id>`), deciding under `policy`."""

    def decide_under_policy(command: Command, state: Ticket | None) -> list[TicketEvent]:
        return decide(command, state, policy)

    return Decider(
        category="ticket", decide=decide_under_policy, evolve=evolve, event_type=TicketEvent
    )
