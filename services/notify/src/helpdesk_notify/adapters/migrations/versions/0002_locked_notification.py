"""A mail's lock and the read of its row in one round trip (`adapters.deliveries`).

`notify.locked_notification` takes the notification's advisory lock, for the session, then
reads the row. It is VOLATILE and in PL/pgSQL, so under READ COMMITTED its read takes a snapshot
of its own once the lock is held, and sees the mark its previous holder committed; a plain
statement takes its snapshot when it starts, before the wait, and would read the mail pending.
The key is passed in, so it is written in one place (`ledger.lock_key`).

Revision ID: notify_0002
Revises: notify_0001
Create Date: 2026-12-07
"""

from alembic import op

revision = "notify_0002"
down_revision = "notify_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION notify.locked_notification(wanted uuid, lock_key text)
        RETURNS SETOF notify.notifications
        LANGUAGE plpgsql VOLATILE
        AS $$
        BEGIN
            PERFORM pg_advisory_lock(hashtextextended(lock_key, 0));
            RETURN QUERY SELECT * FROM notify.notifications WHERE id = wanted;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION notify.locked_notification(uuid, text)")
