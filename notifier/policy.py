"""How failed deliveries are retried: the one home of the defaults (`[alerts]` in the
configuration starts from them).  A module of its own so that reading the configuration does not
load the outbox's SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

LEASE = timedelta(minutes=5)  # a claim lasts this long (a chunk is sent in seconds)


@dataclass(frozen=True)
class Policy:
    retry_base: float = 60.0
    retry_cap: float = 6 * 3600.0
    max_attempts: int = 8
    lease: float = LEASE.total_seconds()  # seconds a sender's claim lasts (renewed while it sends)
    store_retry: float = 60.0  # seconds to keep retrying to record results before the check gives up (exit 5)

    def delay(self, attempts: int) -> float:
        """Capped exponential backoff: base, 2×base, 4×base, … up to the cap."""
        return float(min(self.retry_cap, self.retry_base * 2 ** max(0, attempts - 1)))
