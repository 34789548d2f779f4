"""How outlet waits when a write meets another one on the same item: full-jitter exponential
backoff (AWS's recommendation, so racing writers spread out instead of meeting again) bounded by a
deadline, so a webhook answers in time, with a 409 for the network to redeliver if it must."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Pause ``uniform(0, min(cap, base * 2**n))`` before the n-th retry, until ``deadline`` seconds."""

    base: float = 0.02
    cap: float = 0.5
    deadline: float = 2.0  # X and Shopify wait a few seconds for an answer before they redeliver

    def start(
        self,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> Pacer:
        return Pacer(self, sleep, monotonic, jitter)


class Pacer:
    """One write's retries: each ``pause()`` sleeps a jittered, growing time, or says the deadline passed."""

    def __init__(
        self,
        backoff: Backoff,
        sleep: Callable[[float], None],
        monotonic: Callable[[], float],
        jitter: Callable[[float, float], float],
    ) -> None:
        self._backoff, self._sleep, self._monotonic, self._jitter = backoff, sleep, monotonic, jitter
        self._started = monotonic()
        self._slept = 0.0  # counted too, so a sleep that returns at once (a test's) still ends the retries
        self.retries = 0

    def pause(self) -> bool:
        """Sleep before the next try; False, without sleeping, once the deadline has passed."""
        elapsed = max(self._monotonic() - self._started, self._slept)
        remaining = self._backoff.deadline - elapsed
        if remaining <= 0:
            return False
        ceiling = min(self._backoff.cap, self._backoff.base * 2**self.retries)
        pause = min(remaining, self._jitter(0, ceiling))
        self._sleep(pause)
        self._slept += max(pause, self._backoff.base / 2)  # at least half a base per try: the retries end
        self.retries += 1
        return True


CONTENTION = Backoff()  # every retry of a write that met another one on the same item
