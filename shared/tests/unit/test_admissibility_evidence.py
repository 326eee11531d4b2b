"""The admissibility evidence in `TicketOpened` (v2), the upcast of v1 bodies, contract events."""

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from helpdesk_shared.events import decode, upcast
from helpdesk_shared.events.admissibility import (
    AdmissibilityEvidence,
    Decision,
    RuleEvaluation,
    RuleOutcome,
)
from helpdesk_shared.events.base import DomainEvent
from helpdesk_shared.events.contract import (
    ClientKind,
    ContractAmended,
    ContractClient,
    ContractExtensionAccepted,
    ContractExtensionDeclined,
    ContractExtensionProposed,
    ContractRenewed,
    ContractSigned,
    ContractTerminated,
    CoverageItem,
    CoverageKind,
)
from helpdesk_shared.events.ticket import (
    Admissibility,
    PreQualification,
    Reason,
    RequesterSnapshot,
    TicketOpened,
)

NOW = datetime.now(UTC)
CONTRACT = uuid.uuid4()


def opened(**fields: Any) -> TicketOpened:
    return TicketOpened(
        ticket_id=uuid.uuid4(),
        occurred_at=NOW,
        reference="INC-2026-000001",
        type="incident",
        channel="web",
        requester=RequesterSnapshot(login="jdupont", name="Jeanne Dupont"),
        subject="Excel plante",
        description="Excel se ferme à l'ouverture d'un classeur.",
        received_at=NOW,
        **fields,
    )


def version_1_body() -> dict[str, Any]:
    """A body as version 1 stored it: the summary only."""
    pq = PreQualification(
        outcome=Admissibility.TO_ROUTE,
        reasons=(Reason(rule="domain_routed", message="à router vers « servers »"),),
        contract_id=CONTRACT,
        routed_domain="servers",
    )
    body = opened(pre_qualification=pq).to_data()
    del body["admissibility"]
    return body


def test_a_version_1_opening_is_upcast_to_the_evidence_it_implies() -> None:
    event = decode("TicketOpened", 1, version_1_body())
    assert isinstance(event, TicketOpened)
    evidence = event.admissibility
    assert (evidence.decision, evidence.contract_id) == (Decision.IN_SCOPE, CONTRACT)
    assert evidence.contract_version is None  # not recorded then: never invented
    assert evidence.routed_domain == "servers"
    assert [(r.rule, r.outcome) for r in evidence.rules] == [("domain_routed", RuleOutcome.PASSED)]
    assert event.pre_qualification.outcome is Admissibility.TO_ROUTE


def test_the_stored_version_1_body_is_upcast_as_data_and_left_as_it_was() -> None:
    """Older events are upcast on read, never rewritten: the stored dict is not touched."""
    body = version_1_body()
    upcast_body = upcast("TicketOpened", 1, body)
    assert "admissibility" not in body
    assert upcast_body["admissibility"]["decision"] == "in_scope"
    assert upcast_body["admissibility"]["contract_version"] is None
    assert TicketOpened.schema_version == 2


def test_evidence_written_by_intake_gives_the_old_summary_to_old_readers() -> None:
    evidence = AdmissibilityEvidence(
        decision=Decision.TO_VERIFY,
        contract_id=CONTRACT,
        contract_version=2,
        rules=(
            RuleEvaluation(rule="contract_in_force", outcome=RuleOutcome.PASSED, detail="ok"),
            RuleEvaluation(rule="asset_known", outcome=RuleOutcome.TO_VERIFY, detail="PC-9 ?"),
        ),
    )
    event = opened(admissibility=evidence)
    assert event.pre_qualification.outcome is Admissibility.TO_VERIFY
    assert [r.rule for r in event.pre_qualification.reasons] == ["asset_known"]
    again = decode("TicketOpened", 2, event.to_data())
    assert again == event


def test_an_opening_needs_one_form_of_the_decision() -> None:
    with pytest.raises(ValueError, match="pre_qualification"):
        opened()


@pytest.mark.parametrize(
    ("event", "key"),
    [
        (ContractSigned, "contract.signed"),
        (ContractAmended, "contract.amended"),
        (ContractRenewed, "contract.renewed"),
        (ContractTerminated, "contract.terminated"),
        (ContractExtensionProposed, "contract.extension_proposed"),
        (ContractExtensionAccepted, "contract.extension_accepted"),
        (ContractExtensionDeclined, "contract.extension_declined"),
    ],
)
def test_contract_events_route_under_contract(event: type[DomainEvent], key: str) -> None:
    assert event.routing_key() == key


def test_a_person_holds_a_contract_by_login_and_an_organisation_by_name() -> None:
    person = ContractClient(kind=ClientKind.PERSON, name="Paul Durand", login="pdurand")
    assert person.login == "pdurand"
    with pytest.raises(ValueError, match="login"):
        ContractClient(kind=ClientKind.PERSON, name="Paul Durand")
    with pytest.raises(ValueError, match="login"):
        ContractClient(name="Entreprise Alpha", login="alpha")


def test_coverage_depth_is_a_support_level() -> None:
    assert CoverageItem(kind=CoverageKind.SOFTWARE, name="Word").up_to_level == 3
    with pytest.raises(ValueError, match="up_to_level"):
        CoverageItem(kind=CoverageKind.SOFTWARE, name="Excel", up_to_level=4)


def test_an_amendment_is_never_version_1() -> None:
    with pytest.raises(ValueError, match="version"):
        ContractAmended(
            contract_id=CONTRACT,
            occurred_at=NOW,
            by="manager",
            version=1,
            effective_from=date.today(),
            reason="ajout d'une imprimante",
        )
