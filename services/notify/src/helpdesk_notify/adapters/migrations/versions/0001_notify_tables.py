"""Notify's tables: its view of tickets and the ledger of every notification.

Revision ID: notify_0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

revision = "notify_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE notify.tickets (
            ticket_id uuid PRIMARY KEY,
            reference text NOT NULL,
            requester_login text NOT NULL,
            requester_email text,
            language text NOT NULL,
            subject text NOT NULL,
            "group" text NOT NULL,
            level integer NOT NULL,
            status text NOT NULL,
            opened_at timestamptz NOT NULL,
            last_activity_at timestamptz NOT NULL,
            due_at timestamptz,
            view jsonb NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute('CREATE INDEX tickets_group_status ON notify.tickets ("group", status)')
    op.execute(
        """
        CREATE TABLE notify.notifications (
            id uuid PRIMARY KEY,
            ticket_id uuid,
            event_id uuid NOT NULL,
            recipient text NOT NULL,
            template text NOT NULL,
            language text NOT NULL,
            status text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
            retryable boolean NOT NULL DEFAULT true,
            attempts integer NOT NULL DEFAULT 0,
            message_id text,
            in_reply_to text,
            subject text,
            body_text text,
            body_html text,
            smtp_response text,
            error text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            sent_at timestamptz,
            CONSTRAINT notifications_event_recipient UNIQUE (event_id, recipient)
        )
        """
    )
    op.execute("CREATE INDEX notifications_ticket ON notify.notifications (ticket_id)")
    op.execute("CREATE INDEX notifications_recipient ON notify.notifications (recipient)")
    op.execute(
        "CREATE INDEX notifications_unsent ON notify.notifications (status) WHERE status <> 'sent'"
    )


def downgrade() -> None:
    op.execute("DROP TABLE notify.notifications")
    op.execute("DROP TABLE notify.tickets")
