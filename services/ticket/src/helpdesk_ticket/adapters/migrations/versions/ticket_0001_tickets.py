"""The ticket list projection: one row per ticket, fed from the store's log, rebuildable.

Revision ID: ticket_0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

revision = "ticket_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS ticket")
    op.execute(
        """
        CREATE TABLE ticket.tickets (
            ticket_id uuid PRIMARY KEY,
            reference text NOT NULL,
            type text NOT NULL,
            status text NOT NULL,
            category text,
            priority text,
            group_name text NOT NULL,
            level integer NOT NULL,
            assignee text,
            requester text NOT NULL,
            requester_name text NOT NULL,
            subject text NOT NULL,
            description text NOT NULL,
            channel text NOT NULL,
            admissibility text NOT NULL,
            received_at timestamptz NOT NULL,
            opened_at timestamptz NOT NULL,
            taken_at timestamptz,
            resolved_at timestamptz,
            closed_at timestamptz,
            last_activity_at timestamptz NOT NULL,
            take_due_at timestamptz,
            resolution_due_at timestamptz,
            next_sla_check_at timestamptz,
            sla_paused boolean NOT NULL DEFAULT false,
            sla_breached boolean NOT NULL DEFAULT false,
            first_contact boolean,
            satisfaction integer,
            version integer NOT NULL,
            search tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('french', coalesce(reference, '')), 'A')
                || setweight(to_tsvector('french', coalesce(subject, '')), 'A')
                || setweight(to_tsvector('french', coalesce(description, '')), 'B')
            ) STORED
        )
        """
    )
    op.execute("CREATE INDEX tickets_page ON ticket.tickets (opened_at DESC, ticket_id DESC)")
    for column in ("status", "group_name", "assignee", "requester", "priority", "category"):
        op.execute(f"CREATE INDEX tickets_{column} ON ticket.tickets ({column}, opened_at DESC)")
    op.execute("CREATE INDEX tickets_search ON ticket.tickets USING gin (search)")
    op.execute(
        """CREATE INDEX tickets_sla_watch ON ticket.tickets (next_sla_check_at)
        WHERE next_sla_check_at IS NOT NULL"""
    )
    op.execute(
        """CREATE INDEX tickets_open_activity ON ticket.tickets (last_activity_at)
        WHERE status NOT IN ('resolved', 'closed')"""
    )


def downgrade() -> None:
    op.execute("DROP TABLE ticket.tickets")
