"""`GET /v1/kpis`: the commitments and indicators as JSON, for ops and management."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from helpdesk_metrics.application.ports import FactsReading
from helpdesk_metrics.application.queries import kpis
from helpdesk_metrics.domain.commitments import Filters, Period
from helpdesk_metrics.entrypoints.schemas import KpisOut
from helpdesk_metrics.settings import Settings
from helpdesk_shared.auth import Principal, Role, require_roles
from helpdesk_shared.events.ticket import Channel
from helpdesk_shared.http.dependencies import from_state
from helpdesk_shared.http.problems import Problem, field_error, invalid_input

router = APIRouter(prefix="/v1", tags=["kpis"])

MetricsSettings = Annotated[Settings, from_state("settings")]
Reading = Annotated[FactsReading, from_state("facts_reading")]
Reader = Annotated[
    Principal, Depends(require_roles(Role.AGENT, Role.MANAGER, Role.ADMIN, Role.SERVICE))
]


@router.get(
    "/kpis",
    response_model=KpisOut,
    response_model_by_alias=True,
    summary="The service commitments and indicators over a period",
    responses={403: {"description": "Requesters may not read the indicators"}},
)
async def get_kpis(
    _reader: Reader,
    reading: Reading,
    settings: MetricsSettings,
    from_: Annotated[
        datetime | None, Query(alias="from", description="Start (inclusive); default `to` - 30 d")
    ] = None,
    to: Annotated[datetime | None, Query(description="End (exclusive); default now")] = None,
    group: Annotated[str | None, Query(max_length=100, description="Current support group")] = None,
    channel: Annotated[Channel | None, Query(description="Channel the request came by")] = None,
) -> KpisOut:
    now = datetime.now(UTC)
    end = _aware(to, "to") if to is not None else now
    start = _aware(from_, "from") if from_ is not None else end - timedelta(days=30)
    if end <= start:
        raise _invalid("from", "must be before `to`")
    calendar = settings.business_calendar()
    async with reading() as facts:
        report = await kpis(
            facts,
            Period(start, end),
            Filters(group=group, channel=channel.value if channel else None),
            as_of=now,
            calendar=calendar,
            recurrence_threshold=settings.metrics_recurrence_threshold,
            rules=settings.commitment_rules(),
        )
    return KpisOut.of(report, calendar.describe())


def _aware(moment: datetime, field: str) -> datetime:
    if moment.tzinfo is None:
        raise _invalid(field, "needs a time zone offset (e.g. 2026-03-01T00:00:00Z)")
    return moment


def _invalid(field: str, message: str) -> Problem:
    """The same shape as the shared handler's validation problems."""
    return invalid_input(
        [field_error("query", [field], message)], f"Invalid input: {field} {message}"
    )
