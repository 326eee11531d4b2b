"""How far the readers of the all-events log are held back, as Prometheus gauges.

`read_all` returns only events whose writing transaction is older than every transaction still
running on the PostgreSQL cluster (ADR 0003): one long writer anywhere on the server, in any
database, holds back the relay, every subscription and `GET /v1/events`, without any error. These
gauges make that visible to an operator (alerts in deploy/prometheus, what to do in
docs/operations.md):

- `helpdesk_postgres_oldest_transaction_age_seconds`: the oldest open transaction on the cluster
  that holds a transaction id or a snapshot (a writer holds back the log; a long reader holds back
  vacuum), prepared transactions included;
- `helpdesk_eventstore_oldest_writer_age_seconds`: the oldest transaction holding a transaction id,
  the one that keeps the log's readable horizon where it is;
- `helpdesk_eventstore_held_back_events` and `..._held_back_age_seconds`: events committed but not
  yet readable (above the horizon), how many (counted up to 100000) and how old the oldest is.

Ages of other roles' sessions are visible only to a role with `pg_read_all_stats` (or
`pg_monitor`); without it the gauges see the service's own sessions only.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from decimal import Decimal

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

# One statement, so that the horizon and the held-back events are read in one snapshot. The
# sampling session itself is left out: it holds a snapshot while it runs.
_SAMPLE = text(
    """WITH open_transactions AS (
        SELECT xact_start AS started, backend_xid IS NOT NULL AS writes
        FROM pg_stat_activity
        WHERE pid <> pg_backend_pid()
          AND (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL)
        UNION ALL
        SELECT prepared, true FROM pg_prepared_xacts
    ), held_back AS (
        SELECT recorded_at FROM eventstore.events
        WHERE tx_id >= pg_snapshot_xmin(pg_current_snapshot())
        LIMIT 100000
    )
    SELECT
        (SELECT extract(epoch FROM statement_timestamp() - min(started)) FROM open_transactions)
            AS oldest_transaction,
        (SELECT extract(epoch FROM statement_timestamp() - min(started)) FROM open_transactions
            WHERE writes) AS oldest_writer,
        (SELECT count(*) FROM held_back) AS held_back,
        (SELECT extract(epoch FROM statement_timestamp() - min(recorded_at)) FROM held_back)
            AS held_back_age"""
)


@dataclass(frozen=True)
class VisibilitySample:
    """One measure, in seconds and events; an age is 0 when there is nothing to age."""

    oldest_transaction_seconds: float
    oldest_writer_seconds: float
    held_back_events: int
    held_back_seconds: float


async def sample_visibility(engine: AsyncEngine) -> VisibilitySample:
    """Measure the cluster's open transactions and the log's held-back events now."""
    async with engine.connect() as conn:
        row = (await conn.execute(_SAMPLE)).one()
    return VisibilitySample(
        oldest_transaction_seconds=_age(row.oldest_transaction),
        oldest_writer_seconds=_age(row.oldest_writer),
        held_back_events=int(row.held_back),
        held_back_seconds=_age(row.held_back_age),
    )


def _age(seconds: Decimal | float | None) -> float:
    return max(float(seconds), 0.0) if seconds is not None else 0.0


class LogVisibility:
    """The gauges (module docs) on `registry`, set by `measure()`, or periodically by `watch()`."""

    def __init__(self, engine: AsyncEngine, registry: CollectorRegistry) -> None:
        self._engine = engine
        self.oldest_transaction = Gauge(
            "helpdesk_postgres_oldest_transaction_age_seconds",
            "Age of the oldest open transaction on the PostgreSQL cluster holding a transaction"
            " id or a snapshot (prepared ones included); 0 when none.",
            registry=registry,
        )
        self.oldest_writer = Gauge(
            "helpdesk_eventstore_oldest_writer_age_seconds",
            "Age of the oldest transaction on the cluster holding a transaction id: readers of"
            " the event log see nothing written after it started until it ends; 0 when none.",
            registry=registry,
        )
        self.held_back_events = Gauge(
            "helpdesk_eventstore_held_back_events",
            "Events committed but not yet readable from the log, held back by an older running"
            " transaction (counted up to 100000).",
            registry=registry,
        )
        self.held_back_age = Gauge(
            "helpdesk_eventstore_held_back_age_seconds",
            "Age of the oldest event committed but not yet readable from the log; 0 when none.",
            registry=registry,
        )

    async def measure(self) -> VisibilitySample:
        """Sample now and set the gauges (raises what the database raises)."""
        sample = await sample_visibility(self._engine)
        self.oldest_transaction.set(sample.oldest_transaction_seconds)
        self.oldest_writer.set(sample.oldest_writer_seconds)
        self.held_back_events.set(sample.held_back_events)
        self.held_back_age.set(sample.held_back_seconds)
        return sample

    async def measure_or_keep(self) -> None:
        """Measure; on a database error log it and keep the last values (for a scrape, which
        must answer with the other metrics all the same)."""
        try:
            await self.measure()
        except Exception as error:  # noqa: BLE001 - a failed measure must not fail the caller
            log.warning("could not measure the event log's visibility: %r", error)

    async def watch(self, interval: float) -> None:
        """Measure every `interval` seconds until cancelled; a failed measure keeps the last
        values (the relay's own metrics and `up` tell that the database is unreachable)."""
        while True:
            await self.measure_or_keep()
            await asyncio.sleep(interval)
