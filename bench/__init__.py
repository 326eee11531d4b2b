"""The foundation benchmark: the event store, the relay and their plain baselines (`make bench`)."""
