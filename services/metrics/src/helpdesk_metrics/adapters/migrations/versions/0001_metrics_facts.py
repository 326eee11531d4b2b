"""The metrics projection: received events per stream, and the facts folded from them.

Revision ID: 0001_metrics_facts
Revises:
Create Date: 2026-11-22
"""

from alembic import op

revision = "0001_metrics_facts"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE metrics.events (
            event_id uuid PRIMARY KEY,
            stream_id text NOT NULL,
            version integer NOT NULL,
            type text NOT NULL,
            data jsonb NOT NULL,
            recorded_at timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX events_stream_idx ON metrics.events (stream_id, version)")
    op.execute(
        """
        CREATE TABLE metrics.ticket_facts (
            ticket_id text PRIMARY KEY,
            reference text NOT NULL,
            type text NOT NULL,
            channel text NOT NULL,
            received_at timestamptz NOT NULL,
            opened_at timestamptz NOT NULL,
            initial_group text NOT NULL,
            initial_level integer NOT NULL,
            "group" text NOT NULL,
            level integer NOT NULL,
            status text NOT NULL,
            priority text,
            category text,
            asset_tag text,
            department text,
            admissibility text,
            taken_at timestamptz,
            first_resolved_at timestamptz,
            resolved_at timestamptz,
            closed_at timestamptz,
            closure_code text,
            escalations integer NOT NULL,
            routings integer NOT NULL,
            reopenings integer NOT NULL,
            sla_breaches integer NOT NULL,
            rating integer,
            first_contact boolean,
            resolved_level integer,
            last_version integer NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX ticket_facts_received_idx ON metrics.ticket_facts (received_at)")
    op.execute(
        """
        CREATE TABLE metrics.call_facts (
            call_id text PRIMARY KEY,
            offered_at timestamptz NOT NULL,
            answered_at timestamptz,
            abandoned_at timestamptz,
            wait_seconds double precision,
            agent text
        )
        """
    )
    op.execute("CREATE INDEX call_facts_offered_idx ON metrics.call_facts (offered_at)")


def downgrade() -> None:
    op.execute("DROP TABLE metrics.call_facts")
    op.execute("DROP TABLE metrics.ticket_facts")
    op.execute("DROP TABLE metrics.events")
