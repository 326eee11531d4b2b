"""Events of the `ticket` stream category (`ticket-<uuid>`).

`TicketOpened` is appended by intake; every other ticket event by the ticket service. The four
named in docs/contracts.md (`TicketOpened`, `Escalated`, `Routed`, `Closed`) are contracts with
other DSI systems: rename nothing, add fields only with defaults, and bump `schema_version` with
an upcaster for anything else.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from helpdesk_shared.events.admissibility import (
    AdmissibilityEvidence,
    Decision,
    evidence_from_summary,
    with_both_forms,
)
from helpdesk_shared.events.base import DomainEvent, register_upcaster


class TicketType(StrEnum):
    INCIDENT = "incident"
    SERVICE_REQUEST = "service_request"
    #: "Plainte, réclamation": handled by management, counted apart in the KPIs.
    COMPLAINT = "complaint"


class Channel(StrEnum):
    WEB = "web"
    EMAIL = "email"
    PHONE = "phone"
    API = "api"


class BreakdownCause(StrEnum):
    """What caused a breakdown the desk repaired by reinstalling the standard system."""

    #: A misuse by the user.
    MISUSE = "misuse"
    #: Software installed outside the approved base (« hors socle »).
    SOFTWARE_OUTSIDE_APPROVED_BASE = "software_outside_approved_base"


class Admissibility(StrEnum):
    """Outcome of the pre-qualification against the support contract."""

    ADMISSIBLE = "admissible"  # handled by the desk at level 1
    TO_ROUTE = "to_route"  # in the contract, but belongs to another team
    OUT_OF_SCOPE = "out_of_scope"  # no contract, not in scope or excluded: recorded, never dropped
    TO_VERIFY = "to_verify"  # who asks, or the asset, must be checked by the desk first


class ValueObject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RequesterSnapshot(ValueObject):
    """Who asked, as verified at this contact (the directory may change later)."""

    login: str
    name: str
    email: EmailStr | None = None
    phone: str | None = None
    organisation: str | None = None
    #: `person`, `company` or `eple` (a school: remote maintenance with consent is offered).
    organisation_kind: str | None = None
    #: The academy of an EPLE.
    academy: str | None = None
    department: str | None = None
    office: str | None = None
    preferred_language: str = "fr"


class Reason(ValueObject):
    """One pre-qualification rule that decided, with its message in French."""

    rule: str
    message: str


class PreQualification(ValueObject):
    outcome: Admissibility
    reasons: tuple[Reason, ...] = ()
    contract_id: uuid.UUID | None = None
    #: The domain the request belongs to (e.g. `servers`), when it is to be routed.
    routed_domain: str | None = None


class RequestForm(ValueObject):
    """The assistance form's facts the admissibility was judged on, besides the category and the
    asset tag (kept on the opening itself): enough to judge the request again later."""

    software: str | None = None
    operating_system: str | None = None
    private: bool = False
    personal_training: bool = False
    suspected_cause: BreakdownCause | None = None


class TicketEvent(DomainEvent):
    """Common fields of every ticket event."""

    abstract: ClassVar[bool] = True
    stream_category: ClassVar[str] = "ticket"

    ticket_id: uuid.UUID
    occurred_at: datetime


class TicketOpened(TicketEvent):
    """A request was recorded on the assistance form at the single point of contact.

    Version 2 adds `admissibility`, the decision as evidence (contract version, rules); the
    version-1 summary `pre_qualification` stays, derived from it.
    """

    schema_version: ClassVar[int] = 2

    reference: str
    type: TicketType
    channel: Channel
    requester: RequesterSnapshot
    subject: str
    description: str
    category: str | None = None
    asset_tag: str | None = None
    #: The rest of the form's facts; None on openings recorded before it was kept.
    form: RequestForm | None = None
    #: The version-1 summary, derived from `admissibility` when not given (and the other way
    #: round): one of the two is required, the defaults only satisfy type checkers.
    pre_qualification: PreQualification = PreQualification(outcome=Admissibility.TO_VERIFY)
    admissibility: AdmissibilityEvidence = AdmissibilityEvidence(decision=Decision.TO_VERIFY)
    group: str = "desk"
    level: int = Field(default=1, ge=1, le=3)
    #: When the request reached the desk (the 30-minute commitment counts from here).
    received_at: datetime
    opened_by: str | None = None
    #: The earlier ticket this one follows up (a problem that came back after the reopening
    #: window, reported by replying to that ticket's mails).
    follows_ticket_id: uuid.UUID | None = None
    follows_reference: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _either_form(cls, data: Any) -> Any:
        return with_both_forms(data)


@register_upcaster("TicketOpened", 1)
def _opened_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept only the summary: the evidence is what it implies, version not recorded."""
    return {**data, "admissibility": evidence_from_summary(data["pre_qualification"])}


class Escalated(TicketEvent):
    """Vertical hand-over: to a higher support level (N1 -> N2 -> N3) or to management."""

    from_level: int = Field(ge=1, le=3)
    to_level: int = Field(ge=1, le=3)
    to_management: bool = False
    group: str
    reason: str
    by: str


class Routed(TicketEvent):
    """Horizontal hand-over: to the support group or domain the request belongs to."""

    from_group: str
    to_group: str
    domain: str | None = None
    reason: str
    by: str


class ClosureCode(StrEnum):
    RESOLVED = "resolved"
    OUT_OF_SCOPE = "out_of_scope"  # recorded, follow-up planned (docs/desk-rules.md)
    DUPLICATE = "duplicate"
    CANCELLED = "cancelled"


class Closed(TicketEvent):
    """The ticket is closed; the requester is told by e-mail."""

    code: ClosureCode
    reason: str | None = None
    #: The solution given, copied from the resolution so subscribers need not look it up.
    solution: str | None = None
    #: What happens next for a request closed without a solution (out of scope, duplicate).
    follow_up: str | None = None
    by: str


# --- Events appended by the ticket service -------------------------------------------------------


class Impact(StrEnum):
    """How much of the organisation the request affects."""

    HIGH = "high"  # a whole site or service
    MEDIUM = "medium"  # a team
    LOW = "low"  # one user


class Urgency(StrEnum):
    """How soon the requester's work is blocked."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Priority(StrEnum):
    """Follows from impact x urgency through the configurable matrix; drives the SLA targets."""

    CRITICAL = "P1"
    HIGH = "P2"
    MEDIUM = "P3"
    LOW = "P4"


class TicketQualified(TicketEvent):
    """The desk set the ticket's type, category, impact and urgency; the priority follows."""

    type: TicketType
    category: str
    impact: Impact
    urgency: Urgency
    priority: Priority
    by: str


class TicketAssigned(TicketEvent):
    """The ticket was given to a support group, and possibly to one agent of it."""

    group: str
    agent: str | None = None
    by: str


class TicketTaken(TicketEvent):
    """An agent took the ticket into account (the moment the 30-minute commitment measures)."""

    agent: str
    group: str
    level: int = Field(ge=1, le=3)
    by: str


class Visibility(StrEnum):
    PUBLIC = "public"  # the requester sees it (and is told)
    INTERNAL = "internal"  # agents only


class CommentAdded(TicketEvent):
    """A comment was written on the ticket, either to the requester or between agents."""

    text: str
    visibility: Visibility
    by: str


class HoldReason(StrEnum):
    WAITING_REQUESTER = "waiting_requester"
    WAITING_THIRD_PARTY = "waiting_third_party"
    WAITING_APPOINTMENT = "waiting_appointment"


class PutOnHold(TicketEvent):
    """Work waits on someone outside the desk: the SLA clock stops until `Resumed`."""

    reason: HoldReason
    detail: str | None = None
    by: str


class Resumed(TicketEvent):
    """Work on a ticket on hold starts again; the SLA clock runs again."""

    by: str


class RemoteMaintenanceConsentRecorded(TicketEvent):
    """The requester formally agreed (or refused) to a remote-maintenance session."""

    granted: bool
    #: How the consent was obtained: phone, e-mail, web form.
    channel: str
    scope: str | None = None
    by: str


class AppointmentKind(StrEnum):
    REMOTE = "remote"
    ON_SITE = "on_site"


class AppointmentScheduled(TicketEvent):
    """An appointment with the requester (remote session or on-site visit) was agreed."""

    kind: AppointmentKind
    starts_at: datetime
    ends_at: datetime | None = None
    location: str | None = None
    note: str | None = None
    by: str


class TicketResolved(TicketEvent):
    """A solution was given. `first_contact` is derived from the history, never typed in."""

    solution: str
    resolution_code: str
    first_contact: bool
    level: int = Field(ge=1, le=3)
    group: str
    by: str
    #: The breakdown's cause, recorded with a `reinstall` resolution (None otherwise).
    cause: BreakdownCause | None = None


class TicketReopened(TicketEvent):
    """The requester (or the desk for them) disputed the resolution within the reopening window."""

    reason: str
    by: str


class SatisfactionRated(TicketEvent):
    """The requester's satisfaction after closure."""

    score: int = Field(ge=1, le=5)
    comment: str | None = None
    by: str


class SlaTarget(StrEnum):
    TAKING_INTO_ACCOUNT = "taking_into_account"
    RESOLUTION = "resolution"


class SlaWarning(TicketEvent):
    """A deadline is near: most of the business time allowed for `target` is spent."""

    target: SlaTarget
    deadline: datetime
    priority: Priority | None = None
    group: str
    by: str = "sla-watcher"


class SlaBreached(TicketEvent):
    """A deadline passed before its target was met. Recorded once per target."""

    target: SlaTarget
    deadline: datetime
    priority: Priority | None = None
    group: str
    by: str = "sla-watcher"


class RedecisionReason(StrEnum):
    """Why the admissibility of an open ticket was decided again."""

    #: The desk checked what was to verify (the requester, the asset) and intake judged again.
    VERIFIED = "verified"
    #: The contract was extended to cover what the request was about.
    CONTRACT_EXTENDED = "contract_extended"


class AdmissibilityRedecided(TicketEvent):
    """Intake judged the request again: the ticket's admissibility is now this evidence.

    Appended by intake to the ticket's stream; the decision at the opening stays in
    `TicketOpened`, every later one is one of these.
    """

    admissibility: AdmissibilityEvidence
    reason: RedecisionReason
    #: The contract version whose extension caused it (`contract_extended`).
    contract_version: int | None = Field(default=None, ge=1)
    by: str
