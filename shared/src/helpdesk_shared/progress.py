"""Progress lines for long commands (rebuilds, replays): a count and a rate every few seconds.

A rebuild over a long log can take minutes; without a line now and then it looks like a hang.
The lines go to standard error, so that what a command prints on standard output (its result
line, which scripts and tests read) stays as it was.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


class ProgressLine:
    """Call it with the running count; it prints `<what>: <count> <unit> (<rate>/s)` at most
    every `interval` seconds (never for a command that ends sooner)."""

    def __init__(
        self,
        what: str,
        unit: str = "events",
        *,
        interval: float = 2.0,
        write: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._what = what
        self._unit = unit
        self._interval = interval
        self._write = write or _to_stderr
        self._clock = clock
        self._started = clock()
        self._next = self._started + interval
        self.lines = 0

    def __call__(self, count: int) -> None:
        now = self._clock()
        if now < self._next:
            return
        self._next = now + self._interval
        elapsed = now - self._started
        rate = count / elapsed if elapsed > 0 else 0.0
        self._write(f"{self._what}: {count} {self._unit} ({rate:.0f}/s, {elapsed:.0f} s)")
        self.lines += 1


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
