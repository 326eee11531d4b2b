"""The contract aggregate without I/O: signing, amending, renewing, terminating, as of a day."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from helpdesk_intake.domain.contract import (
    Amend,
    AnswerExtension,
    ContractAlreadySigned,
    ContractChangeRefused,
    ContractNotFound,
    ContractState,
    InvalidContractCommand,
    ProposeExtension,
    Renew,
    Sign,
    Terminate,
    decide,
    evolve,
    in_force_on,
    replay,
    version_as_of,
)
from helpdesk_intake.domain.contracts import CoverageItem, CoverageKind, CoveredAsset, RoutedDomain
from helpdesk_intake.domain.demo_contracts import CONTRACT_3
from helpdesk_shared.events.contract import ContractAmended, ContractEvent, ContractSigned

TODAY = date.today()
NOW = datetime.now(UTC)
ID = uuid.uuid4()
TERMS = CONTRACT_3.terms().model_copy(
    update={"signed_on": TODAY - timedelta(days=60), "valid_from": TODAY - timedelta(days=60),
            "valid_until": TODAY + timedelta(days=300)}
)  # fmt: skip
EXCEL_2 = CoverageItem(kind=CoverageKind.SOFTWARE, name="Excel", up_to_level=2)
PRINTER = CoveredAsset(asset_tag="LASER-9", kind="printer", acquired_on=TODAY - timedelta(days=5))


def run(state: ContractState | None, *commands: object) -> ContractState:
    for command in commands:
        for event in decide(command, state):  # type: ignore[arg-type]
            state = evolve(state, event)
    assert state is not None
    return state


def signed() -> ContractState:
    return run(None, Sign(ID, TERMS, NOW, "manager"))


def amend(days: int, **changes: object) -> Amend:
    return Amend(ID, TODAY + timedelta(days=days), "avenant", NOW, "manager", **changes)  # type: ignore[arg-type]


def test_signing_records_version_1_effective_from_the_first_day() -> None:
    events = decide(Sign(ID, TERMS, NOW, "manager"), None)
    assert [type(e) for e in events] == [ContractSigned]
    state = signed()
    assert [(v.number, v.effective_from, v.cause) for v in state.versions] == [
        (1, TERMS.valid_from, "signed")
    ]


def test_signing_twice_is_refused() -> None:
    with pytest.raises(ContractAlreadySigned):
        decide(Sign(ID, TERMS, NOW, "manager"), signed())


def test_changing_an_unsigned_contract_is_refused() -> None:
    with pytest.raises(ContractNotFound):
        decide(amend(0, coverage_set=(EXCEL_2,)), None)


def test_an_amendment_adds_a_version_and_keeps_the_earlier_one() -> None:
    state = run(signed(), amend(0, coverage_set=(EXCEL_2,)))
    [event] = decide(amend(1, assets_added=(PRINTER,)), state)
    assert isinstance(event, ContractAmended)
    assert event.version == 3
    before, after = state.contract(state.versions[0]), state.contract(state.current)
    assert before.coverage_of(CoverageKind.SOFTWARE, "Excel").up_to_level == 1  # type: ignore[union-attr]
    assert after.coverage_of(CoverageKind.SOFTWARE, "excel").up_to_level == 2  # type: ignore[union-attr]
    assert len(after.coverage) == len(before.coverage)  # re-levelled, not duplicated
    assert after.version == 2


def test_version_as_of_a_day_is_the_latest_in_effect_then() -> None:
    state = run(signed(), amend(10, assets_added=(PRINTER,)))
    assert version_as_of(state, TODAY).number == 1  # type: ignore[union-attr]
    assert version_as_of(state, TODAY + timedelta(days=10)).number == 2  # type: ignore[union-attr]
    assert version_as_of(state, TERMS.valid_from - timedelta(days=1)) is None


def test_an_amendment_cannot_take_effect_before_the_latest_version() -> None:
    state = run(signed(), amend(10, assets_added=(PRINTER,)))
    with pytest.raises(InvalidContractCommand) as refused:
        decide(amend(5, coverage_set=(EXCEL_2,)), state)
    assert refused.value.field == "effective_from"


def test_an_amendment_that_changes_nothing_is_refused() -> None:
    excel_1 = CoverageItem(kind=CoverageKind.SOFTWARE, name="Excel", up_to_level=1,
                           label="Excel 1er niveau")  # fmt: skip
    with pytest.raises(InvalidContractCommand, match="changes nothing"):
        decide(amend(0, coverage_set=(excel_1,)), signed())


def test_removing_coverage_by_kind_and_name() -> None:
    from helpdesk_intake.domain.contracts import CoverageRef

    state = run(signed(), amend(0, coverage_removed=(CoverageRef(kind="software", name="WORD"),)))
    assert state.contract(state.current).coverage_of(CoverageKind.SOFTWARE, "Word") is None


def test_renewal_extends_the_validity_from_its_day() -> None:
    until = TERMS.valid_until + timedelta(days=365)  # type: ignore[operator]
    state = run(signed(), Renew(ID, TODAY, until, NOW, "manager"))
    late = TERMS.valid_until + timedelta(days=30)  # type: ignore[operator]
    assert in_force_on(state, late) is not None
    assert (state.current.number, state.current.cause) == (2, "renewed")


def test_termination_ends_the_contract_after_its_last_day_and_refuses_changes() -> None:
    state = run(signed(), Terminate(ID, TODAY + timedelta(days=3), "fin anticipée", NOW, "mgr"))
    assert in_force_on(state, TODAY + timedelta(days=3)) is not None
    assert in_force_on(state, TODAY + timedelta(days=4)) is None
    with pytest.raises(ContractChangeRefused) as refused:
        decide(amend(5, coverage_set=(EXCEL_2,)), state)
    assert refused.value.allowed == ("sign",)


def test_a_contract_is_not_in_force_before_it_starts_or_after_it_ends() -> None:
    state = signed()
    assert in_force_on(state, TERMS.valid_from) is not None
    assert in_force_on(state, TERMS.valid_until + timedelta(days=1)) is None  # type: ignore[operator]


def test_replay_rebuilds_the_same_state() -> None:
    events: list[ContractEvent] = []
    state: ContractState | None = None
    for command in (Sign(ID, TERMS, NOW, "m"), amend(0, assets_added=(PRINTER,))):
        new = decide(command, state)
        events += new
        for e in new:
            state = evolve(state, e)
    assert replay(events) == state


def test_an_extension_proposal_is_recorded_once_and_answered_once() -> None:
    proposal = uuid.uuid4()
    propose = ProposeExtension(ID, proposal, EXCEL_2, uuid.uuid4(), NOW, "agent")
    state = run(signed(), propose)
    assert decide(propose, state) == []
    state = run(state, AnswerExtension(ID, proposal, False, NOW, "manager", "trop cher"))
    assert state.proposal(proposal).status == "declined"  # type: ignore[union-attr]
    with pytest.raises(ContractChangeRefused):
        decide(AnswerExtension(ID, proposal, True, NOW, "manager"), state)


COFFEE = CoverageItem(kind=CoverageKind.DOMAIN, name="coffee")


def test_a_contract_domain_outside_the_catalogue_is_refused_naming_the_field() -> None:
    kitchen = RoutedDomain(domain="coffee", group="kitchen")
    refusals = [
        ("coverage", lambda: decide(Sign(ID, TERMS.model_copy(update={"coverage": (COFFEE,)}),
                                         NOW, "manager"), None)),
        ("routed_domains", lambda: decide(Sign(ID, TERMS.model_copy(
            update={"routed_domains": (kitchen,)}), NOW, "manager"), None)),
        ("coverage_set", lambda: decide(amend(1, coverage_set=(COFFEE,)), signed())),
        ("routed_domains", lambda: decide(amend(1, routed_domains=(kitchen,)), signed())),
        ("item", lambda: decide(ProposeExtension(ID, uuid.uuid4(), COFFEE, None, NOW, "bob"),
                                signed())),
    ]  # fmt: skip
    for field, attempt in refusals:
        with pytest.raises(InvalidContractCommand) as refused:
            attempt()
        assert refused.value.field == field
        assert "office_software" in refused.value.message  # the codes it knows
    servers = RoutedDomain(domain="servers", group="servers")
    assert decide(amend(1, routed_domains=(servers,)), signed())  # a catalogue code is taken
