"""One row of `make bench`'s summary table: a figure beside its baseline from the same run.

Every benchmark module returns its rows as `SummaryRow`s; `bench.run` renders them all in one
table of `docs/performance.md`. The load average is sampled while the row is measured, so a row
taken on a busy machine says so instead of passing for a quiet measurement.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SummaryRow:
    """A path's figure, its baseline measured in the same run, and the goal it is held to."""

    #: What was measured, in the desk's words ("consumer toolkit, empty handler").
    path: str
    figure: float
    #: "events/s", "mails/s", "ms" ...
    unit: str
    #: The same work with nothing of ours on top, measured in the same run (None: no baseline).
    baseline: float | None
    baseline_label: str
    #: The goal written out (">= 0.5x baseline", "p99 < 25 ms").
    goal: str
    met: bool
    #: Mean 1-minute load average sampled while the row was measured.
    load: float
    rounds: int

    @property
    def ratio(self) -> float | None:
        """figure / baseline; None without a baseline."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.figure / self.baseline


@dataclass
class LoadSampler:
    """The 1-minute load average at the start and end of a measurement (and any samples taken)."""

    samples: list[float] = field(default_factory=list)

    def sample(self) -> None:
        self.samples.append(os.getloadavg()[0])

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else 0.0


@contextmanager
def load_during() -> Iterator[LoadSampler]:
    """`with load_during() as load: ...` then `load.mean` for the row."""
    sampler = LoadSampler()
    sampler.sample()
    try:
        yield sampler
    finally:
        sampler.sample()
