"""Shared by the benchmarks: time a command and read its own peak memory.

A child's ru_maxrss inherits the peak of the process that spawned it (the high-water mark
survives fork and exec on Linux), so a big benchmark process would inflate every child's figure.
Commands therefore run under a tiny launcher whose fork starts from a small process.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

_LAUNCH = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\n@@maxrss {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}\\n")
"""


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of `cmd`; raises if it fails."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _LAUNCH, *cmd], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    marker = result.stderr.rsplit("@@maxrss ", 1)
    rss_kb, code = marker[1].split() if len(marker) == 2 else ("0", "-1")
    if int(code) != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {marker[0][-2000:]}")
    return wall, int(rss_kb) / 1024, result.stdout


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM belongs to the address space, reset by exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# wrk, for the HTTP benchmarks (bench/web.py, bench/api.py)
def wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> str:
    argv = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency", url]
    if script:
        argv[1:1] = ["-s", str(script)]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def summary(output: str) -> str:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"50%\s+(\S+)", output)
    p99 = re.search(r"99%\s+(\S+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return (f"{float(rate.group(1)) if rate else 0:8.0f} req/s   p50 {p50.group(1) if p50 else '?':>8}   p99 {p99.group(1) if p99 else '?':>8}"
            f"   non-2xx {errors.group(1) if errors else 0}")  # fmt: skip
