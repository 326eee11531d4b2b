"""Contracts become event streams: the read model of their versions replaces the mutable rows.

`intake.contract_versions` holds one row per version of each contract (the terms then, who holds
it, from when), written with the events that make the version, and rebuildable from the
`contract-<id>` streams. Each row of the former `intake.contracts` is carried over as the
`ContractSigned` event that opens its stream (a fixed event id, so running this twice stores it
once) and its version 1; the former table is then dropped. As printed SQL (offline mode) the
carry-over cannot run: the script refuses to go on where the former table has rows.

Revision ID: intake_0002
Revises: intake_0001
Create Date: 2026-12-06
"""

import json
import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "intake_0002"
down_revision = "intake_0001"
branch_labels = None
depends_on = None

_EVENT_IDS = uuid.UUID("0f5e8a43-3c1d-4b8e-9a52-6a7c1f0d2b91")


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE intake.contract_versions (
            contract_id uuid NOT NULL,
            version integer NOT NULL,
            client_kind text NOT NULL,
            client_key text NOT NULL,
            effective_from date NOT NULL,
            cause text NOT NULL,
            reason text,
            recorded_at timestamptz NOT NULL,
            recorded_by text NOT NULL,
            terms jsonb NOT NULL,
            PRIMARY KEY (contract_id, version)
        )
        """
    )
    op.execute(
        "CREATE INDEX contract_versions_holder ON intake.contract_versions"
        " (client_kind, client_key)"
    )
    if context.is_offline_mode():
        op.execute(_REFUSE_FORMER_ROWS)
    else:
        _carry_over_all(op.get_bind())
    op.execute("DROP TABLE intake.contracts")


#: The carry-over is Python (each row's terms are reshaped): printed SQL cannot do it, so the
#: printed script stops, before dropping anything, where there are rows to carry over.
_REFUSE_FORMER_ROWS = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM intake.contracts) THEN
        RAISE EXCEPTION 'intake_0002 carries intake.contracts rows over into the event store: '
            'apply it with helpdesk-migrate, not as printed SQL';
    END IF;
END $$
"""


def _carry_over_all(bind: Any) -> None:
    rows = bind.execute(
        sa.text(
            "SELECT id, data::text AS data, created_at FROM intake.contracts ORDER BY created_at"
        )
    ).all()
    for row in rows:
        _carry_over(bind, row.id, json.loads(row.data), row.created_at)


def _terms(old: dict[str, Any]) -> dict[str, Any]:
    """The former row's fields as the terms of version 1 (what it covered, at every level)."""

    def items(kind: str, names: list[str]) -> list[dict[str, Any]]:
        return [{"kind": kind, "name": n, "up_to_level": 3, "label": n} for n in names]

    coverage = (
        items("domain", old.get("level1_domains", []))
        + items("software", old.get("covered_software", []))
        + items("hardware", old.get("covered_hardware", []))
    )
    dropped = {"id", "client", "level1_domains", "covered_software", "covered_hardware"}
    kept = {k: v for k, v in old.items() if k not in dropped}
    return kept | {"client": {"kind": "organisation", "name": old["client"]}, "coverage": coverage}


def _carry_over(bind: Any, contract_id: uuid.UUID, old: dict[str, Any], created_at: Any) -> None:
    terms = _terms(old)
    data = {
        "contract_id": str(contract_id),
        "occurred_at": created_at.isoformat(),
        "by": "intake_0002",
        "terms": terms,
    }
    bind.execute(
        sa.text(
            """INSERT INTO eventstore.events
            (stream_id, version, event_id, type, schema_version, data, metadata)
            VALUES (:stream, 1, :event_id, 'ContractSigned', 1, CAST(:data AS jsonb),
                    CAST(:metadata AS jsonb))
            ON CONFLICT DO NOTHING"""
        ),
        {
            "stream": f"contract-{contract_id}",
            "event_id": uuid.uuid5(_EVENT_IDS, str(contract_id)),
            "data": json.dumps(data),
            "metadata": json.dumps({"actor": "intake_0002"}),
        },
    )
    first_day = date.fromisoformat(min(terms["signed_on"], terms["valid_from"]))
    bind.execute(
        sa.text(
            """INSERT INTO intake.contract_versions (contract_id, version, client_kind,
                client_key, effective_from, cause, recorded_at, recorded_by, terms)
            VALUES (:id, 1, 'organisation', lower(trim(:client)), :day, 'signed',
                    :at, 'intake_0002', CAST(:terms AS jsonb))"""
        ),
        {
            "id": contract_id,
            "client": old["client"],
            "day": first_day,
            "at": created_at,
            "terms": json.dumps(terms),
        },
    )


def downgrade() -> None:
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
    op.execute("DROP TABLE intake.contract_versions")
