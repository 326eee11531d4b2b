"""Events on the broker: the CloudEvents envelope, the topology, the consumer toolkit and the
dead-letter tools (docs/architecture.md, "Consumers")."""
