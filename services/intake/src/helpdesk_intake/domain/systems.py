"""Which operating systems are obsolete and which are supported: configuration, not contract text.

A workstation under an obsolete system is out of scope (the obsolete-OS exclusion); one under a
system the desk does not support is not covered. Both lists age with the IT department's security
policy, so they are intake settings (`INTAKE_OBSOLETE_OPERATING_SYSTEMS`,
`INTAKE_SUPPORTED_OPERATING_SYSTEMS`) with today's defaults: Windows XP and older are obsolete,
Windows 10 and 11 are supported. A contract may still name systems of its own: its obsolete ones
are added to the configured list, and its supported ones, when it names any, replace the
configured list for its requests.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Windows XP and every older Windows.
OBSOLETE_BY_DEFAULT: tuple[str, ...] = (
    "Windows XP",
    "Windows 2000",
    "Windows ME",
    "Windows 98",
    "Windows 95",
    "Windows NT 4.0",
    "Windows NT",
    "Windows 3.1",
)
SUPPORTED_BY_DEFAULT: tuple[str, ...] = ("Windows 10", "Windows 11")


@dataclass(frozen=True)
class OperatingSystems:
    """The configured lists (names compare without case or surrounding spaces)."""

    obsolete: tuple[str, ...] = OBSOLETE_BY_DEFAULT
    #: Empty: the desk supports any system that is not obsolete.
    supported: tuple[str, ...] = SUPPORTED_BY_DEFAULT


DEFAULT_SYSTEMS = OperatingSystems()
