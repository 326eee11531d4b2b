"""The one catalogue of support domains (ticket categories) every service speaks.

A request's `category` on the assistance form, a contract's level-1 and routed domains, the
category a ticket is qualified with and the categories the KPIs are broken down by are all codes of
this catalogue, so a ticket opened by intake can be qualified, routed and counted with the same
word. Each entry names the support group that handles it by default: the single desk (`desk`) for
the level-1 domains, another team for the routed ones. Intake serves it read-only at
`GET /v1/categories` so front ends build their forms from it.

Pure data and lookups (no I/O). Codes are stable: renaming one is a new code plus an alias, so
events recorded with the old code still resolve.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DESK_GROUP = "desk"
MANAGEMENT_GROUP = "management"


class CategoryCode(StrEnum):
    """The codes of the catalogue, for code that names one (contracts, demo data, tests)."""

    WORKSTATION = "workstation"
    PRINTERS = "printers"
    OFFICE_SOFTWARE = "office_software"
    INTERNET_ACCESS = "internet_access"
    LOCAL_NETWORK = "local_network"
    SOFTWARE_INSTALLATION = "software_installation"
    SOFTWARE_MAINTENANCE = "software_maintenance"
    HARDWARE_MAINTENANCE = "hardware_maintenance"
    SERVERS = "servers"
    NETWORK = "network"
    BUSINESS_APPLICATIONS = "business_applications"
    NON_STANDARD_OFFICE_SOFTWARE = "non_standard_office_software"
    ON_SITE_INSTALLATION = "on_site_installation"


@dataclass(frozen=True)
class Category:
    """A support domain: its code, its French label, and the group that handles it by default."""

    code: str
    label: str
    group: str = DESK_GROUP

    @property
    def level_one(self) -> bool:
        """Handled by the single desk at level 1 (the others are routed to their group)."""
        return self.group == DESK_GROUP


_C = CategoryCode
CATEGORIES: tuple[Category, ...] = (
    Category(_C.WORKSTATION, "Poste de travail et périphériques, avec leur connexion au réseau"),
    Category(_C.PRINTERS, "Imprimantes locales et en réseau"),
    Category(_C.OFFICE_SOFTWARE, "Applications bureautiques standards (Word, Excel, Outlook)"),
    Category(_C.INTERNET_ACCESS, "Accès Internet"),
    Category(_C.LOCAL_NETWORK, "Réseau local Ethernet"),
    Category(_C.SOFTWARE_INSTALLATION, "Installation de logiciels"),
    Category(_C.SOFTWARE_MAINTENANCE, "Maintenance logicielle"),
    Category(_C.HARDWARE_MAINTENANCE, "Maintenance matérielle"),
    Category(_C.SERVERS, "Serveurs", group="servers"),
    Category(_C.NETWORK, "Réseau", group="network"),
    Category(_C.BUSINESS_APPLICATIONS, "Applications métier", group="business-apps"),
    Category(
        _C.NON_STANDARD_OFFICE_SOFTWARE,
        "Applications bureautiques non standard",
        group="office-apps",
    ),
    Category(_C.ON_SITE_INSTALLATION, "Installation sur site", group="field"),
)

#: Codes the ticket service once used for the same domains: events recorded with them resolve.
ALIASES: dict[str, str] = {
    "office_standard": _C.OFFICE_SOFTWARE,
    "office_non_standard": _C.NON_STANDARD_OFFICE_SOFTWARE,
}

_BY_CODE: dict[str, Category] = {c.code: c for c in CATEGORIES}


def canonical(code: str) -> str:
    """The catalogue's code for `code` (an alias resolved; other strings unchanged)."""
    return ALIASES.get(code, code)


def category(code: str, categories: tuple[Category, ...] = CATEGORIES) -> Category | None:
    """The entry of `code` (or of its alias) in `categories`; None when it is not known."""
    wanted = canonical(code)
    if categories is CATEGORIES:
        return _BY_CODE.get(wanted)
    return next((c for c in categories if c.code == wanted), None)


def codes(categories: tuple[Category, ...] = CATEGORIES) -> tuple[str, ...]:
    return tuple(c.code for c in categories)


def routed_group(code: str) -> str | None:
    """The group a routed domain goes to by default; None for the desk's domains or unknowns."""
    found = category(code)
    return None if found is None or found.level_one else found.group


class UnknownCategory(ValueError):
    """A code the catalogue does not know; the message lists the codes it knows."""

    def __init__(self, code: str, categories: tuple[Category, ...] = CATEGORIES) -> None:
        super().__init__(f"unknown category {code!r}; one of: {', '.join(codes(categories))}")


def known(code: str) -> str:
    """The catalogue's code for `code`, or `UnknownCategory` (a pydantic validator's error)."""
    found = category(code)
    if found is None:
        raise UnknownCategory(code)
    return found.code
