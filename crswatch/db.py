"""The one place that opens the database: a TinyDB file with atomic writes and a file lock.

TinyDB alone overwrites its file in place (a kill mid-write corrupts it), has no locking, and
rewrites the whole file on every insert.  So each transaction here:

1. takes an inter-process lock (`<db>.lock`, via filelock),
2. reads the file once into memory (`SnapshotStorage`),
3. lets the caller use the ordinary TinyDB API on that snapshot (every write stays in memory),
4. writes the result once: temp file in the same folder, fsync, `os.replace`, fsync the folder.

A transaction's cost is one read and at most one write of the file, whatever it does inside.
Readers need no lock: `os.replace` means they always see a whole file.  The file is created
with mode 0600 (it holds channel URLs with passwords and tokens).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from filelock import FileLock, Timeout
from tinydb import TinyDB
from tinydb.storages import Storage

from .errors import DATABASE, Busy, CrswatchError


class DatabaseError(CrswatchError):
    """The database file cannot be read or written (it is never silently replaced)."""

    exit_code = DATABASE


class DatabaseBusy(Busy):
    """Another process held the database lock for longer than the timeout."""


class SnapshotStorage(Storage):
    """TinyDB storage over an in-memory snapshot of the file, flushed once per transaction."""

    def __init__(self, path: Path):
        self.path = path
        self._data = load(path)
        self.dirty = False

    def read(self) -> dict[str, Any] | None:
        return self._data

    def write(self, data: dict[str, Any]) -> None:
        self._data = data
        self.dirty = True

    def flush(self) -> None:
        if self.dirty:
            atomic_write(self.path, orjson.dumps(self._data))
            self.dirty = False


class Database:
    """A crswatch database file.  `transaction()` to change it, `reader()` to look."""

    def __init__(self, path: str | os.PathLike[str], lock_timeout: float = 30.0):
        self.path = Path(path).expanduser()
        self.lock_timeout = lock_timeout

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @contextmanager
    def transaction(self, commit: bool = True) -> Iterator[TinyDB]:
        """Lock, load, yield a TinyDB, and write it back atomically if the block succeeds.

        With commit=False (a rehearsal, `--dry-run`) nothing is written."""
        self._ensure_folder()
        lock = FileLock(self.lock_path, timeout=self.lock_timeout, mode=0o600)
        try:
            lock.acquire()
        except Timeout:
            raise DatabaseBusy(f"the database {self.path} is locked by another crswatch process") from None
        try:
            storage = SnapshotStorage(self.path)
            db = TinyDB(storage=lambda: storage)
            yield db
            if commit:
                storage.flush()
        finally:
            lock.release()

    @contextmanager
    def cycle_lock(self, timeout: float = 10.0) -> Iterator[None]:
        """One check cycle at a time (cron `check` and `run` alike).  Not the database lock:
        a cycle holds it for minutes while its database transactions stay short."""
        self._ensure_folder()
        lock = FileLock(self.path.with_name(self.path.name + ".cycle.lock"), timeout=timeout, mode=0o600)
        try:
            lock.acquire()
        except Timeout:
            raise Busy(f"another crswatch check is running on {self.path} (waited {timeout:g}s); try again later") from None
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def reader(self) -> Iterator[TinyDB]:
        """A read-only view of the last committed state (no lock needed)."""
        storage = SnapshotStorage(self.path)
        storage.write = _refuse_write  # type: ignore[method-assign]
        yield TinyDB(storage=lambda: storage)

    def _ensure_folder(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create the folder for {self.path}: {exc.strerror}") from None


def load(path: Path) -> dict[str, Any] | None:
    """The file's tables, None when the file does not exist yet; DatabaseError when unreadable."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DatabaseError(f"cannot read the database {path}: {exc.strerror}") from None
    if not data.strip():
        return None
    try:
        tables = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DatabaseError(
            f"the database {path} is corrupt or not a crswatch database ({exc}); it was left untouched"
        ) from None
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise DatabaseError(f"the database {path} is not a crswatch database; it was left untouched")
    return tables


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves either the old or the new file, whole."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise DatabaseError(f"cannot write the database {path}: {exc.strerror}") from None
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _refuse_write(data: dict[str, Any]) -> None:
    raise DatabaseError("internal error: a read-only view was written to")
