"""The one retry policy of the system: exponential back-off with full jitter and a cap.

Every loop that waits before trying again (a consumer starting before the broker answers, a
failing handler, a subscription or relay after an error, an idle poll, a standby relay waiting
for the lock) takes its waits from a `RetryPolicy`. Without jitter, replicas that lost the same
server at the same moment come back at the same moments, doubling together, and hit the server
in waves when it returns; with full jitter each wait is drawn uniformly below the exponential
ceiling, which spreads them (the "full jitter" of the AWS architecture blog on back-off).

A small helper rather than a library (stamina, tenacity): most of these loops are not "call this
until it stops raising" but polls and stop-aware waits (`asyncio.wait_for(stopping.wait(), ...)`),
which want the delays themselves; `delays()` gives them, `retrying()` covers the call-until-it-
works case, and tests seed the randomness per policy instead of switching waits off globally.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

#: Past this many doublings the ceiling is the cap anyway (and 2.0 ** n stays finite).
_MAX_EXPONENT = 60


@dataclass(frozen=True)
class RetryPolicy:
    """Waits growing from `initial` by `multiplier` up to `maximum`, jittered below that.

    `jitter` is the share of each ceiling that is random: 1.0 (full jitter, the default) draws
    each wait uniformly in (0, ceiling]; 0.0 waits exactly the ceiling. `max_attempts` bounds the
    tries (so `max_attempts - 1` waits); None retries forever. `seed` fixes the random draws
    (tests); None draws from the operating system's entropy, different in every replica.
    """

    initial: float
    maximum: float
    multiplier: float = 2.0
    jitter: float = 1.0
    max_attempts: int | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum:
            raise ValueError("a retry policy needs 0 < initial <= maximum")
        if self.multiplier < 1:
            raise ValueError("a retry policy's multiplier must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("a retry policy's jitter is a share between 0 and 1")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("a retry policy's max_attempts must be at least 1")

    def ceiling(self, retry: int) -> float:
        """The longest wait before retry number `retry` (from 0): exponential, capped."""
        return min(self.initial * self.multiplier ** min(retry, _MAX_EXPONENT), self.maximum)

    def delays(self) -> Iterator[float]:
        """The waits before each retry, in order (endless when `max_attempts` is None).

        Each call starts over from `initial` with a random generator of its own: take a fresh
        iterator whenever the thing retried has worked again.
        """
        rng = random.Random(self.seed)
        retries = itertools.count() if self.max_attempts is None else range(self.max_attempts - 1)
        for retry in retries:
            ceiling = self.ceiling(retry)
            yield ceiling - ceiling * self.jitter * rng.random()


async def retrying(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    on: tuple[type[BaseException], ...],
    before_wait: Callable[[BaseException, float], Awaitable[None]] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Await `attempt()` until it returns, waiting the policy's delays after each error in `on`.

    `before_wait` hears each error and the wait ahead (to log it, to clean up); once the policy's
    attempts are spent the last error is raised. Other errors are raised at once.
    """
    waits = policy.delays()
    while True:
        try:
            return await attempt()
        except on as error:
            delay = next(waits, None)
            if delay is None:
                raise
            if before_wait is not None:
                await before_wait(error, delay)
            await sleep(delay)
