"""What one check did: its outcome, the changes, what was queued (or, in a dry run, would be), and
how sending went; `summary()` is the line `check` prints and `run` logs."""

from __future__ import annotations

from dataclasses import dataclass, field

from crswatch.draws.guard import Changes
from crswatch.draws.record import Draw, Malformed
from crswatch.notifier.outbox import Delivery, DispatchReport


@dataclass
class CycleReport:
    """What one check did."""

    outcome: str  # "updated" | "unchanged"
    message: str = ""
    changes: Changes = field(default_factory=Changes)
    first_run: bool = False
    known: set[str] = field(default_factory=set)  # this host's first check: new here, announced by another host already
    dry_run: bool = False
    queued: int = 0
    planned: list[Delivery] = field(default_factory=list)  # dry run: what would be queued
    unscored: list[str] = field(default_factory=list)  # profile subscribers left out of a draw: no score on its date
    delivery: DispatchReport = field(default_factory=DispatchReport)

    @property
    def held(self) -> list[Malformed]:
        return self.changes.malformed

    def summary(self) -> str:
        if self.outcome == "unchanged":
            text = f"check: feed unchanged ({self.message})"
            if self.changes.recognised:
                count = len(self.changes.recognised)
                text += f"; {count} draw{'s' if count != 1 else ''} recognised"
        else:
            text = f"check: {self.changes.summary()}"
            if self.first_run:
                text += " (first check: history stored, nobody alerted)"
            elif self.known:
                text += (f" (first check on this host: {len(self.known)} of them already announced by another host"
                         " sharing the store, nobody alerted again)")  # fmt: skip
        if self.dry_run:
            count = len(self.planned)
            return text + f"; {count} alert{'s' if count != 1 else ''} would be sent [dry run: nothing stored or sent]"
        if self.unscored:
            text += f"; {len(self.unscored)} profile match{'es' if len(self.unscored) != 1 else ''} not made (no score on the draw's date: see the warnings)"
        d = self.delivery
        if d.attempted or d.sent or d.failed or d.dead or d.cancelled:
            text += f"; alerts: {d.sent} sent, {d.failed} failed (will retry), {len(d.dead)} dead"
            if d.cancelled:
                text += f", {d.cancelled} cancelled"
        return text

    @property
    def new_draws(self) -> list[Draw]:
        return self.changes.new
