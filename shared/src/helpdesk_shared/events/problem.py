"""Events of the `problem` stream category (ITIL problems: the cause of one or more incidents)."""

from __future__ import annotations
