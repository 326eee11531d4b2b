"""Knowledge articles: the searchable projection (French full text) and suggestions per ticket.

`ticket.fr` is the `french` text search configuration with accents removed (the `unaccent`
extension, from postgresql-contrib), so "réseau" and "reseau" meet; where the extension cannot be
created the configuration is plain `french` (stemming without accent folding).

Revision ID: ticket_0003
Revises: ticket_0002
Create Date: 2026-11-22
"""

from alembic import op

revision = "ticket_0003"
down_revision = "ticket_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            BEGIN
                CREATE EXTENSION IF NOT EXISTS unaccent;
            EXCEPTION WHEN others THEN
                RAISE NOTICE 'unaccent unavailable: French search keeps accents';
            END;
            CREATE TEXT SEARCH CONFIGURATION ticket.fr (COPY = pg_catalog.french);
            IF EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictname = 'unaccent') THEN
                EXECUTE format(
                    'ALTER TEXT SEARCH CONFIGURATION ticket.fr ALTER MAPPING FOR '
                    'hword, hword_part, word WITH %s.unaccent, french_stem',
                    (SELECT n.nspname FROM pg_ts_dict d JOIN pg_namespace n
                       ON n.oid = d.dictnamespace WHERE d.dictname = 'unaccent' LIMIT 1));
            END IF;
        END $$
        """
    )
    op.execute(
        """
        CREATE TABLE ticket.articles (
            article_id uuid PRIMARY KEY,
            title text NOT NULL,
            symptom text NOT NULL,
            cause text,
            resolution_steps jsonb NOT NULL,
            category text,
            software jsonb NOT NULL,
            hardware jsonb NOT NULL,
            audience text NOT NULL,
            status text NOT NULL,
            content_version integer NOT NULL,
            from_tickets jsonb NOT NULL,
            problem_id uuid,
            suggested integer NOT NULL,
            solved integer NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            version integer NOT NULL,
            search tsvector NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX articles_search ON ticket.articles USING gin (search)")
    op.execute("CREATE INDEX articles_status ON ticket.articles (status, audience, category)")
    op.execute("CREATE INDEX articles_problem ON ticket.articles (problem_id)")
    op.execute(
        """
        CREATE TABLE ticket.article_suggestions (
            article_id uuid NOT NULL,
            ticket_id uuid NOT NULL,
            suggested_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (article_id, ticket_id)
        )
        """
    )
    # One problem per group of recurring incidents (category + asset or department).
    op.execute(
        """
        CREATE TABLE ticket.recurring_groups (
            category text NOT NULL,
            group_key text NOT NULL,
            problem_id uuid NOT NULL,
            article_id uuid NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (category, group_key)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE ticket.recurring_groups")
    op.execute("DROP TABLE ticket.article_suggestions")
    op.execute("DROP TABLE ticket.articles")
    op.execute("DROP TEXT SEARCH CONFIGURATION ticket.fr")
