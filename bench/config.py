"""How big and how long each measurement is: the full run (`make bench`) and the quick smoke run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    """Every knob of one benchmark run.

    Append runs are bounded in time rather than in events, so the whole run stays short on a slow
    machine; reads and publishes work through a fixed number of events.
    """

    #: Seconds each append configuration runs for in each round (after `warmup_seconds` not
    #: counted). Every measurement is repeated `rounds` times, the systems taking turns, and each
    #: keeps its best round: the machine may be shared, and a neighbour's burst (a checkpoint, a
    #: CPU-bound test) should not decide a ratio.
    append_seconds: float
    warmup_seconds: float
    rounds: int
    writers: tuple[int, ...]
    batches: tuple[int, ...]
    #: Events read by the read-all measurements (the store is topped up to this many first), or
    #: as many as `read_max_seconds` allows.
    read_events: int
    read_page: int
    read_max_seconds: float
    #: Events published, in each of `publish_rounds` rounds, by the relay and by the plain
    #: publisher (more, shorter rounds than the others: the broker's rate is the most jittery).
    publish_events: int
    publish_batch: int
    publish_rounds: int


FULL = Sizes(
    append_seconds=1.0,
    warmup_seconds=0.25,
    rounds=3,
    writers=(8,),
    batches=(1, 10, 100),
    read_events=100_000,
    read_page=1000,
    read_max_seconds=6.0,
    publish_events=3_000,
    publish_batch=500,
    publish_rounds=5,
)

QUICK = Sizes(
    append_seconds=0.2,
    warmup_seconds=0.05,
    rounds=1,
    writers=(8,),
    batches=(1, 10, 100),
    read_events=3_000,
    read_page=1000,
    read_max_seconds=5.0,
    publish_events=600,
    publish_batch=200,
    publish_rounds=1,
)
