"""`python -m bench.ticket.profile_view`: the CPU of a ticket's answer and of its projected row.

`ticket_view` (what every command answers) and the list projection's `row`, for a ticket opened
30 hours before, each at a new "now" as in the service: the lowest and the median of 5 rounds of
20,000 calls, in microseconds. Pure Python, no database.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from helpdesk_ticket.adapters.projection import row
from helpdesk_ticket.domain.ticket import ticket_decider
from helpdesk_ticket.domain.ticket.policy import DEFAULT_POLICY
from helpdesk_ticket.entrypoints.views import ticket_view
from helpdesk_ticket.testing import opened


def rounds(call: Callable[[datetime], object], count: int = 20_000) -> tuple[float, float]:
    """The lowest and the median CPU per call of five rounds, in microseconds."""
    each = []
    for _ in range(5):
        started = time.process_time()
        for _ in range(count):
            call(datetime.now(UTC))
        each.append((time.process_time() - started) / count * 1e6)
    each.sort()
    return each[0], each[2]


def main(count: int) -> None:
    ticket = ticket_decider(DEFAULT_POLICY).evolve(
        None, opened(at=datetime.now(UTC) - timedelta(hours=30))
    )
    assert ticket is not None
    view = rounds(lambda now: ticket_view(ticket, 1, ["comment"], DEFAULT_POLICY, now), count)
    projected = rounds(lambda now: row(ticket, 1, DEFAULT_POLICY, now), count)
    print(
        f"ticket_view: lowest {view[0]:.1f} us, median {view[1]:.1f} us; "
        f"row: lowest {projected[0]:.1f} us, median {projected[1]:.1f} us"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000, help="calls per round")
    main(parser.parse_args().calls)
