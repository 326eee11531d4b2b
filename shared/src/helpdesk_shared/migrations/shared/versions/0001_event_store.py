"""The append-only event store and the infrastructure tables every service shares.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS eventstore")
    op.execute(
        """
        CREATE TABLE eventstore.events (
            global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tx_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
            stream_id text NOT NULL CHECK (stream_id ~ '^[a-z][a-z0-9_]*-.+$'),
            version bigint NOT NULL CHECK (version > 0),
            event_id uuid NOT NULL,
            type text NOT NULL,
            schema_version integer NOT NULL DEFAULT 1,
            data jsonb NOT NULL,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT events_stream_id_version_key UNIQUE (stream_id, version),
            CONSTRAINT events_event_id_key UNIQUE (event_id)
        )
        """
    )
    op.execute("CREATE INDEX events_log_order ON eventstore.events (tx_id, global_position)")
    op.execute(
        """
        CREATE FUNCTION eventstore.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'eventstore.events is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        """CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON eventstore.events
        FOR EACH ROW EXECUTE FUNCTION eventstore.refuse_change()"""
    )
    op.execute(
        """CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON eventstore.events
        FOR EACH STATEMENT EXECUTE FUNCTION eventstore.refuse_change()"""
    )
    op.execute("CREATE SCHEMA IF NOT EXISTS infra")
    op.execute(
        """
        CREATE TABLE infra.checkpoints (
            name text PRIMARY KEY,
            tx_id bigint NOT NULL,
            global_position bigint NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE infra.inbox (
            consumer text NOT NULL,
            event_id uuid NOT NULL,
            event_type text NOT NULL,
            processed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, event_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE infra.idempotency_keys (
            scope text NOT NULL,
            key text NOT NULL,
            request_hash text NOT NULL,
            status_code integer NOT NULL,
            body jsonb NOT NULL,
            location text,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (scope, key)
        )
        """
    )


def downgrade() -> None:
    """Drop what `upgrade` made, but keep the `eventstore` schema: it holds this set's version
    table, which Alembic still writes once this has run. DROP TABLE is not refused by the
    append-only triggers (they guard rows, not the table) and takes them along."""
    op.execute("DROP SCHEMA infra CASCADE")
    op.execute("DROP TABLE eventstore.events")
    op.execute("DROP FUNCTION eventstore.refuse_change()")
