"""Who this process is, in one place: claims, the scheduler's heartbeat, `status` and the logs all
name a host the same way.

The host is `$CRSWATCH_HOST`, else the machine's name: containers on one machine (or machines that
share a name) must each set their own, since only a process on the same host can tell whether a
process id is still alive."""

from __future__ import annotations

import os
import socket


def host_name() -> str:
    return os.environ.get("CRSWATCH_HOST") or socket.gethostname()


def split_holder(holder: str) -> tuple[str, int | None]:
    """ "host:pid" → (host, pid); a holder without a process id is a host alone."""
    host, _, pid = holder.rpartition(":")
    return (host, int(pid)) if host and pid.isdigit() else (holder, None)


def alive_here(pid: int) -> bool:
    """Whether process `pid` of this host still runs (one we may not signal does)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
