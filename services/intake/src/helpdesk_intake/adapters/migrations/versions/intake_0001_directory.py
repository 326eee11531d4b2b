"""Intake's tables: requester directory and its change log, contracts, reference counters,
the index of opened tickets (for mail threading), inbound mail and its quarantine.

Revision ID: intake_0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

revision = "intake_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS intake")
    op.execute(
        """
        CREATE TABLE intake.requesters (
            id uuid PRIMARY KEY,
            login text NOT NULL UNIQUE,
            email text,
            needs_verification boolean NOT NULL DEFAULT false,
            version integer NOT NULL DEFAULT 1,
            data jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX requesters_email ON intake.requesters (lower(email))")
    op.execute(
        """
        CREATE TABLE intake.requester_changes (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            requester_id uuid NOT NULL REFERENCES intake.requesters (id) ON DELETE CASCADE,
            changed_by text NOT NULL,
            changed_at timestamptz NOT NULL DEFAULT now(),
            channel text,
            changes jsonb NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX requester_changes_by_requester ON intake.requester_changes (requester_id, id)"
    )
    op.execute(
        """
        CREATE TABLE intake.contracts (
            id uuid PRIMARY KEY,
            client text NOT NULL,
            data jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX contracts_client ON intake.contracts (lower(client))")
    op.execute(
        """
        CREATE TABLE intake.reference_counters (
            prefix text NOT NULL,
            year integer NOT NULL,
            last_value bigint NOT NULL,
            PRIMARY KEY (prefix, year)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE intake.tickets (
            ticket_id uuid PRIMARY KEY,
            reference text NOT NULL UNIQUE,
            requester_login text NOT NULL,
            requester_email text,
            channel text NOT NULL,
            opened_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE intake.inbound_emails (
            message_id text PRIMARY KEY,
            mail_id uuid NOT NULL UNIQUE,
            disposition text NOT NULL,
            detail text,
            ticket_id uuid,
            from_address text,
            subject text,
            received_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX inbound_emails_ticket ON intake.inbound_emails (ticket_id)")
    op.execute(
        """
        CREATE TABLE intake.quarantine (
            mail_id uuid PRIMARY KEY,
            message_id text,
            reason text NOT NULL,
            raw bytea NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )


def downgrade() -> None:
    """Drop the tables (their indexes go with them), but keep the `intake` schema: it holds this
    set's version table, which Alembic still writes once this has run."""
    for table in (
        "quarantine",
        "inbound_emails",
        "tickets",
        "reference_counters",
        "contracts",
        "requester_changes",
        "requesters",
    ):
        op.execute(f"DROP TABLE intake.{table}")
