"""Events of the `article` stream category (knowledge base: resolution scenarios)."""

from __future__ import annotations
