"""Snapshots of long ticket streams, so a cold process loads them without a full replay.

Revision ID: ticket_0002
Revises: ticket_0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "ticket_0002"
down_revision = "ticket_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ticket.snapshots (
            stream_id text PRIMARY KEY,
            version integer NOT NULL,
            schema_version integer NOT NULL,
            state jsonb NOT NULL,
            taken_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE ticket.snapshots")
