"""The relay publishing the event store to the exchange (`helpdesk-relay`)."""
