"""Ctrl-C and SIGTERM for the commands that run on the reactor (`check`, `run`).

The reactor runs with `installSignalHandlers=False`, so without this module Python's default
SIGINT handler raises KeyboardInterrupt wherever the event loop happens to be: the reactor is
never stopped, its thread pool is never shut down, and the interpreter then waits for those
threads forever (the hang after "interrupted"; a second Ctrl-C printed a traceback from there).

Instead, each signal becomes a step the command chose, run on the event loop:
- the first one asks politely (`check`: cancel the cycle; `run`: finish the cycle in progress);
- the next one is more urgent (`run`: cancel the cycle in progress);
- once nothing polite is left, the process ends at once with one line and the signal's exit code.

A cancelled step can still hold the process in a worker thread (a send in progress); `patience`
seconds later the process ends anyway.  That is as safe as a kill: every delivery is in the outbox
and journaled before it is sent (see `notifier.dispatch`), so nothing is lost, and at most the
messages in flight are sent again by the next check.

Plain `signal.signal` handlers, not `loop.add_signal_handler`: a signal must still be heard after
the event loop has stopped, while the interpreter waits for threads at exit.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType

from . import errors

SIGNALS = (signal.SIGINT, signal.SIGTERM)
CODES: dict[int, int] = {signal.SIGINT: errors.INTERRUPTED, signal.SIGTERM: errors.TERMINATED}
NAMES: dict[int, str] = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}
CHECK_STOPPED = "check interrupted by {signal}; nothing is lost: the next check finishes the work"
RUN_STOPPED = "run stopped by {signal} during a cycle; nothing is lost: the next check finishes the work"
PATIENCE = 10.0  # seconds a cancelled cycle may take to unwind before the process ends anyway


class Stopping:
    """Maps successive SIGINT/SIGTERM to `steps`, called on the running event loop."""

    def __init__(self, steps: Sequence[Callable[[], None]], farewell: str, patience: float = PATIENCE) -> None:
        self.steps = list(steps)
        self.farewell = farewell  # the line printed when the process ends without unwinding
        self.patience = patience
        self.signum: int | None = None
        self.count = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.said = False  # the command's own line was printed: ending later adds no second one

    def install(self) -> None:
        """Call on the event loop (inside the reactor's main coroutine)."""
        self.loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            signal.signal(sig, self._handle)

    @property
    def exit_code(self) -> int:
        return CODES.get(self.signum or signal.SIGINT, errors.INTERRUPTED)

    @property
    def name(self) -> str:
        return NAMES.get(self.signum or signal.SIGINT, "a signal")

    def error(self, message: str) -> errors.Interrupted:
        """The command's one line (`{signal}` names the signal); printed by the CLI's error path."""
        self.said = True
        return errors.Interrupted(message.format(signal=self.name), self.exit_code)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signum = self.signum or signum
        self.count += 1
        if self.count > len(self.steps) or self.loop is None or self.loop.is_closed():
            self._end()
            return
        step = self.steps[self.count - 1]
        self.loop.call_soon_threadsafe(step)  # the handler runs between bytecodes: only wake the loop here
        if self.count == len(self.steps):  # the last polite step: it gets `patience` seconds, no more
            timer = threading.Timer(self.patience, self._end)
            timer.daemon = True
            timer.start()

    def _end(self) -> None:
        try:
            if not self.said:
                sys.stderr.write(f"crswatch: error: {self.farewell.format(signal=self.name)}\n")
                sys.stderr.flush()
        finally:
            os._exit(self.exit_code)  # noqa: SLF001 - the documented way to end now, skipping thread joins


def canceller(task: asyncio.Task[object] | None) -> Callable[[], None]:
    """A step that cancels `task` (the command's cycle), if it is still running."""

    def cancel() -> None:
        if task is not None and not task.done():
            task.cancel()

    return cancel
