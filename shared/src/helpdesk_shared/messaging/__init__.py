"""Events on the broker: the CloudEvents envelope, the topology, the consumer toolkit and the
dead-letter tools (the contract is `notes/MESSAGING_API.md`; the design is in DESIGN.md)."""
