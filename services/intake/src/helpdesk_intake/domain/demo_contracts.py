"""The three example contracts of docs/desk-rules.md, with their real differences, as demo data.

All three cover the workstation (a PC under a supported operating system, with peripherals and
their network connection), local and network printers and internet access, and route servers,
network and business applications to other teams. They differ on office software:

- contract 1 covers Word, Excel and the Outlook client;
- contract 2 covers no office software: it routes it, like non-standard software;
- contract 3 covers Word at every level but Excel at level 1 only (« Word tous niveaux, Excel
  1er niveau »), and the Outlook client.

An item whose depth the contract does not state is covered at every level (3): the desk escalates
what it cannot solve (docs/desk-rules.md), and only contract 3 limits a depth. So an Excel ticket
under contract 3 cannot be escalated beyond level 1, and can under contract 1.

Their ids are fixed (uuid5 of their names), so loading them twice changes nothing.
`python -m helpdesk_intake.entrypoints.cli demo-data` signs them in the event store. Which
operating systems are supported or obsolete is not contract text here: the intake settings say it
(`domain/systems.py`).
"""

from __future__ import annotations

import uuid
from datetime import date

from helpdesk_intake.domain.contracts import (
    Contract,
    CoverageItem,
    CoverageKind,
    Exclusion,
    RoutedDomain,
)
from helpdesk_intake.domain.contracts import SupportDomain as D
from helpdesk_shared import catalogue

_NAMESPACE = uuid.UUID("5b0f3c2e-6a51-4d0e-9c55-0f1d2b3a4c5d")

#: The demo contracts run to the end of the year after next, counted from the day they are
#: loaded: a fixed end date would make the demo (and every test on it) refuse requests as out of
#: contract once it passed. Loading them again renews a contract whose end has come nearer.
DEMO_VALID_UNTIL = date(date.today().year + 2, 12, 31)

#: Every exclusion of the user-assistance service (docs/desk-rules.md).
ALL_EXCLUSIONS: tuple[Exclusion, ...] = tuple(Exclusion)

#: Software declared obsolete by the security policy (the obsolete operating systems are intake
#: settings, `domain/systems.py`, not contract text).
OBSOLETE_SOFTWARE = ("Office 97", "Internet Explorer 6", "Outlook Express")

_OFFICE = ("Word", "Excel", "Outlook")
_APPROVED = (*_OFFICE, "Firefox", "Adobe Reader", "Antivirus")


def _item(kind: CoverageKind, name: str, label: str = "", up_to_level: int = 3) -> CoverageItem:
    return CoverageItem(kind=kind, name=name, label=label, up_to_level=up_to_level)


def _domain(domain: D, label: str) -> CoverageItem:
    return _item(CoverageKind.DOMAIN, domain.value, label)


def _software(name: str, up_to_level: int = 3, label: str = "") -> CoverageItem:
    return _item(CoverageKind.SOFTWARE, name, label or name, up_to_level)


#: What all three cover: the workstation and its peripherals, printers, internet access.
_COMMON = (
    _domain(D.WORKSTATION, "Poste de travail et périphériques et leur connexion au réseau"),
    _domain(D.PRINTERS, "Imprimantes locales et en réseau"),
    _domain(D.INTERNET_ACCESS, "Accès Internet"),
    _item(CoverageKind.HARDWARE, "pc", "PC sous un système d'exploitation supporté"),
    _item(CoverageKind.HARDWARE, "printer", "Imprimantes locales et en réseau"),
    _item(CoverageKind.HARDWARE, "peripheral", "Périphériques"),
)
_OFFICE_DOMAIN = _domain(D.OFFICE_SOFTWARE, "Applications bureautiques")


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
            "client": {"kind": "organisation", "name": client},
            "signed_on": date(2026, 1, 5),
            "valid_from": date(2026, 1, 5),
            "valid_until": DEMO_VALID_UNTIL,
            "obsolete_software": OBSOLETE_SOFTWARE,
            "approved_software": _APPROVED,
            "exclusions": ALL_EXCLUSIONS,
            **scope,
        }
    )


_ROUTED_NON_STANDARD = _routes(
    D.SERVERS, D.NETWORK, D.BUSINESS_APPLICATIONS, D.NON_STANDARD_OFFICE_SOFTWARE
)

#: Contract 1: workstation, peripherals, standard office software (Word, Excel, Outlook client).
CONTRACT_1 = _contract(
    1,
    "Entreprise Alpha",
    coverage=(
        *_COMMON,
        _OFFICE_DOMAIN,
        _software("Word"),
        _software("Excel"),
        _software("Outlook", label="client Outlook"),
    ),
    routed_domains=_ROUTED_NON_STANDARD,
)

#: Contract 2: workstation and peripherals only; office software is routed like the rest.
CONTRACT_2 = _contract(
    2,
    "Entreprise Bêta",
    coverage=_COMMON,
    routed_domains=_routes(
        D.OFFICE_SOFTWARE,
        D.NON_STANDARD_OFFICE_SOFTWARE,
        D.SERVERS,
        D.NETWORK,
        D.BUSINESS_APPLICATIONS,
    ),
)

#: Contract 3: like contract 1, with Word at every level and Excel at level 1 only.
CONTRACT_3 = _contract(
    3,
    "Entreprise Gamma",
    coverage=(
        *_COMMON,
        _OFFICE_DOMAIN,
        _software("Word", 3, "Word tous niveaux"),
        _software("Excel", 1, "Excel 1er niveau"),
        _software("Outlook", label="client Outlook"),
    ),
    routed_domains=_ROUTED_NON_STANDARD,
)

DEMO_CONTRACTS: tuple[Contract, ...] = (CONTRACT_1, CONTRACT_2, CONTRACT_3)
