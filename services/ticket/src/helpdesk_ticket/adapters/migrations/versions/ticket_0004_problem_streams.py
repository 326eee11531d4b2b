"""The problem streams' events, found in the log by an index of their own.

Problems are found in the store's own table (`adapters/queries/problems.py`): their stream ids
start with `problem-`, which no index of the log serves (a prefix match cannot use the
(stream_id, version) index under the database's collation, unless it is "C"). Without this
index, `GET /v1/problems` read the whole log, newest first, until it had its page: every row of
it when the desk has fewer problems than the page holds, 70 ms at 300,000 events and growing
with the log. The index is partial: it holds only the problems' events (tens to hundreds of
streams), and an append of any other stream pays nothing but the predicate's check.

Revision ID: ticket_0004
Revises: ticket_0003
Create Date: 2026-12-07
"""

from alembic import op

revision = "ticket_0004"
down_revision = "ticket_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """CREATE INDEX events_problem_streams ON eventstore.events (global_position)
        WHERE stream_id LIKE 'problem-%'"""
    )


def downgrade() -> None:
    op.execute("DROP INDEX eventstore.events_problem_streams")
