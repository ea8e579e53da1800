"""Expected failures and the exit codes they map to (a documented contract; see README)."""

from __future__ import annotations

OK = 0
INTERNAL = 1  # a bug: please report it (run with CRSWATCH_DEBUG=1 for the traceback)
USAGE = 2  # bad arguments, invalid subscriber data, unknown id, bad configuration
FETCH_FAILED = 3  # the feed could not be fetched (network, timeout, HTTP error)
FEED_REJECTED = 4  # the feed was fetched but is not usable; nothing was stored
DATABASE = 5  # the database file is corrupt, unreadable or unwritable
BUSY = 6  # another crswatch cycle holds the lock
UNHEALTHY = 7  # `status`: no successful check for too long, or dead deliveries
DELIVERY_FAILED = 8  # `test-alert`: at least one channel did not accept the message
HELD = 9  # `check`: the feed was stored, but some rounds are held (unreadable, too long, implausible, an edit to look at, a renumbering)
INTERRUPTED = 130  # Ctrl-C (SIGINT): stopped cleanly; the next check finishes the work (128 + the signal's number)
TERMINATED = 143  # SIGTERM: the same

EXIT_CODES = {
    OK: "success",
    INTERNAL: "internal error (a bug)",
    USAGE: "invalid arguments, data or configuration",
    FETCH_FAILED: "the feed could not be fetched",
    FEED_REJECTED: "the feed was rejected as malformed; nothing was stored",
    DATABASE: "the database is corrupt, unreadable or unwritable",
    BUSY: "another crswatch cycle is running",
    UNHEALTHY: "status: unhealthy",
    DELIVERY_FAILED: "test-alert: a channel did not accept the message",
    HELD: "check: some rounds are held (unreadable, too long, implausible, listed twice, an edit to look at, or a possible renumbering); the rest was stored",
    INTERRUPTED: "interrupted by Ctrl-C (SIGINT)",
    TERMINATED: "stopped by SIGTERM",
}


class CrswatchError(Exception):
    """An expected failure: one clear line for the user and an exit code."""

    exit_code = INTERNAL


class UsageError(CrswatchError):
    exit_code = USAGE


class FetchFailed(CrswatchError):
    exit_code = FETCH_FAILED


class FeedRejected(CrswatchError):
    exit_code = FEED_REJECTED


class Busy(CrswatchError):
    exit_code = BUSY


class Interrupted(CrswatchError):
    """Ctrl-C or SIGTERM stopped the command; its exit code says which (130 or 143)."""

    def __init__(self, message: str, exit_code: int = INTERRUPTED) -> None:
        super().__init__(message)
        self.exit_code = exit_code
