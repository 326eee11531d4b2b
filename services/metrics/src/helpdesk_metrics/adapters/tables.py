"""SQLAlchemy Core descriptions of the `metrics` schema (created by the Alembic revision)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
)

metadata = MetaData(schema="metrics")

ticket_facts = Table(
    "ticket_facts",
    metadata,
    Column("ticket_id", Text, primary_key=True),
    Column("reference", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("initial_group", Text, nullable=False),
    Column("initial_level", Integer, nullable=False),
    Column("group", Text, nullable=False),
    Column("level", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("priority", Text),
    Column("category", Text),
    Column("asset_tag", Text),
    Column("department", Text),
    Column("admissibility", Text),
    Column("taken_at", DateTime(timezone=True)),
    Column("first_resolved_at", DateTime(timezone=True)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("closure_code", Text),
    Column("escalations", Integer, nullable=False),
    Column("routings", Integer, nullable=False),
    Column("reopenings", Integer, nullable=False),
    Column("sla_breaches", Integer, nullable=False),
    Column("rating", Integer),
    Column("first_contact", Boolean),
    Column("resolved_level", Integer),
    Column("last_version", Integer, nullable=False),
    Column("take_business_seconds", Float),
    Column("resolve_business_seconds", Float),
)

call_facts = Table(
    "call_facts",
    metadata,
    Column("call_id", Text, primary_key=True),
    Column("offered_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("abandoned_at", DateTime(timezone=True)),
    Column("wait_seconds", Float),
    Column("agent", Text),
    Column("last_version", Integer, nullable=False),
)
