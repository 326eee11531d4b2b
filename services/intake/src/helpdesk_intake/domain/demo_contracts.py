"""The three example contracts of seed 000, each with the exclusions of seed 003, as demo data.

Their ids are fixed (uuid5 of their names), so loading them twice changes nothing.
`python -m helpdesk_intake.entrypoints.cli demo-data` writes them to the database.
"""

from __future__ import annotations

import uuid
from datetime import date

from helpdesk_intake.domain.contracts import Contract, Exclusion, RoutedDomain
from helpdesk_intake.domain.contracts import SupportDomain as D
from helpdesk_shared import catalogue

_NAMESPACE = uuid.UUID("5b0f3c2e-6a51-4d0e-9c55-0f1d2b3a4c5d")

#: The demo contracts run to the end of the year after next, counted from the day they are
#: loaded: a fixed end date would make the demo (and every test on it) refuse requests as out of
#: contract once it passed. Loading them again moves the end on (they are upserted).
DEMO_VALID_UNTIL = date(date.today().year + 2, 12, 31)

#: Seed 003: every exclusion of the "Assistance aux utilisateurs" service.
SEED_003_EXCLUSIONS: tuple[Exclusion, ...] = tuple(Exclusion)

#: Software declared obsolete by the security policy (the obsolete operating systems are intake
#: settings, `domain/systems.py`, not contract text).
OBSOLETE_SOFTWARE = ("Office 97", "Internet Explorer 6", "Outlook Express")

_OFFICE = ("Word", "Excel", "Outlook")
_APPROVED = (*_OFFICE, "Firefox", "Adobe Reader", "Antivirus")
_HARDWARE = ("PC sous un système d'exploitation supporté", "Imprimantes locales et en réseau")


def _routes(*domains: D) -> tuple[RoutedDomain, ...]:
    """Each domain to the group the catalogue routes it to (office software, a desk domain in
    the catalogue, goes to the office-applications team where a contract routes it)."""
    entries = [catalogue.category(d) for d in domains]
    return tuple(
        RoutedDomain(
            domain=c.code, group=c.group if not c.level_one else "office-apps", label=c.label
        )
        for c in entries
        if c is not None
    )


def _contract(number: int, client: str, **scope: object) -> Contract:
    name = f"Exemple de contrat n°{number}"
    return Contract.model_validate(
        {
            "id": uuid.uuid5(_NAMESPACE, name),
            "name": name,
            "client": client,
            "signed_on": date(2026, 1, 5),
            "valid_from": date(2026, 1, 5),
            "valid_until": DEMO_VALID_UNTIL,
            "covered_hardware": _HARDWARE,
            "obsolete_software": OBSOLETE_SOFTWARE,
            "exclusions": SEED_003_EXCLUSIONS,
            **scope,
        }
    )


_L1_WITH_OFFICE = (D.WORKSTATION, D.PRINTERS, D.INTERNET_ACCESS, D.OFFICE_SOFTWARE)
_ROUTED_NON_STANDARD = _routes(
    D.SERVERS, D.NETWORK, D.BUSINESS_APPLICATIONS, D.NON_STANDARD_OFFICE_SOFTWARE
)

#: Contract 1: workstation, peripherals, standard office software (Word, Excel, Outlook client).
CONTRACT_1 = _contract(
    1,
    "Entreprise Alpha",
    level1_domains=_L1_WITH_OFFICE,
    routed_domains=_ROUTED_NON_STANDARD,
    covered_software=(*_OFFICE, "Accès Internet"),
    approved_software=_APPROVED,
)

#: Contract 2: workstation and peripherals only; office software is routed like the rest.
CONTRACT_2 = _contract(
    2,
    "Entreprise Bêta",
    level1_domains=(D.WORKSTATION, D.PRINTERS, D.INTERNET_ACCESS),
    routed_domains=_routes(
        D.OFFICE_SOFTWARE,
        D.NON_STANDARD_OFFICE_SOFTWARE,
        D.SERVERS,
        D.NETWORK,
        D.BUSINESS_APPLICATIONS,
    ),
    covered_software=("Accès Internet",),
    approved_software=_APPROVED,
)

#: Contract 3: like contract 1, with Word at every level and Excel at first level only.
CONTRACT_3 = _contract(
    3,
    "Entreprise Gamma",
    level1_domains=_L1_WITH_OFFICE,
    routed_domains=_ROUTED_NON_STANDARD,
    covered_software=("Word (tous niveaux)", "Excel (1er niveau)", "Outlook", "Accès Internet"),
    approved_software=_APPROVED,
)

DEMO_CONTRACTS: tuple[Contract, ...] = (CONTRACT_1, CONTRACT_2, CONTRACT_3)
