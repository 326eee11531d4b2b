"""Events recorded by intake beyond `TicketOpened` (calls from telephony: `call-<uuid>` streams)."""

from __future__ import annotations
