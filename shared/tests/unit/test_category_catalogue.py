"""The one catalogue of support domains: codes, default groups, older aliases."""

from __future__ import annotations

import pytest

from helpdesk_shared import catalogue
from helpdesk_shared.catalogue import CategoryCode, UnknownCategory


def test_every_code_has_one_entry() -> None:
    assert set(catalogue.codes()) == {c.value for c in CategoryCode}
    assert len(catalogue.codes()) == len(set(catalogue.codes()))


def test_routed_domains_name_their_group_and_desk_domains_none() -> None:
    assert catalogue.routed_group("servers") == "servers"
    assert catalogue.routed_group("printers") is None
    assert catalogue.routed_group("coffee") is None


def test_older_ticket_codes_resolve_to_the_catalogue() -> None:
    found = catalogue.category("office_standard")
    assert found is not None
    assert found.code == "office_software"
    assert catalogue.known("office_non_standard") == "non_standard_office_software"


def test_an_unknown_code_is_refused_listing_the_catalogue() -> None:
    with pytest.raises(UnknownCategory) as refused:
        catalogue.known("coffee")
    assert "'coffee'" in str(refused.value)
    assert all(code in str(refused.value) for code in catalogue.codes())
