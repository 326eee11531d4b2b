"""The three example contracts of docs/desk-rules.md, with their real differences, as demo data.

All three cover the workstation (PC under Windows 2000 or XP, with peripherals and their network
connection), local and network printers and internet access, and route servers, network and
business applications to other teams. They differ on office software:

- contract 1 covers Word, Excel and the Outlook client;
- contract 2 covers no office software: it routes it, like non-standard software;
- contract 3 covers Word at every level but Excel at level 1 only (« Word tous niveaux, Excel
  1er niveau »), and the Outlook client.

An item whose depth the contract does not state is covered at every level (3): the desk escalates
what it cannot solve (docs/desk-rules.md), and only contract 3 limits a depth. So an Excel ticket
under contract 3 cannot be escalated beyond level 1, and can under contract 1.

Their ids are fixed (uuid5 of their names), so loading them twice changes nothing.
`python -m helpdesk_intake.demo` signs them in the event store.
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

_NAMESPACE = uuid.UUID("5b0f3c2e-6a51-4d0e-9c55-0f1d2b3a4c5d")

#: Every exclusion of the user-assistance service (docs/desk-rules.md).
ALL_EXCLUSIONS: tuple[Exclusion, ...] = tuple(Exclusion)

#: Systems and software declared obsolete by the security policy (PSSI).
OBSOLETE_OPERATING_SYSTEMS = ("Windows 95", "Windows 98", "Windows ME", "Windows NT 4.0")
OBSOLETE_SOFTWARE = ("Office 97", "Internet Explorer 6", "Outlook Express")

_OFFICE = ("Word", "Excel", "Outlook")
_APPROVED = (*_OFFICE, "Firefox", "Adobe Reader", "Antivirus")
_SYSTEMS = ("Windows 2000", "Windows XP")


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
    _item(CoverageKind.HARDWARE, "pc", "PC sous Windows 2000 ou XP"),
    _item(CoverageKind.HARDWARE, "printer", "Imprimantes locales et en réseau"),
    _item(CoverageKind.HARDWARE, "peripheral", "Périphériques"),
)
_OFFICE_DOMAIN = _domain(D.OFFICE_SOFTWARE, "Applications bureautiques")


def _routes(*domains: D) -> tuple[RoutedDomain, ...]:
    groups = {
        D.SERVERS: ("servers", "Serveurs"),
        D.NETWORK: ("network", "Réseau"),
        D.BUSINESS_APPLICATIONS: ("business-apps", "Applications métier"),
        D.NON_STANDARD_OFFICE_SOFTWARE: ("office-apps", "Applications bureautiques non standard"),
        D.OFFICE_SOFTWARE: ("office-apps", "Applications bureautiques"),
    }
    return tuple(
        RoutedDomain(domain=d.value, group=groups[d][0], label=groups[d][1]) for d in domains
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
            "valid_until": date(2028, 12, 31),
            "supported_operating_systems": _SYSTEMS,
            "obsolete_operating_systems": OBSOLETE_OPERATING_SYSTEMS,
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
