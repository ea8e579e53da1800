"""The one place that opens the database: a TinyDB file with atomic writes and a file lock.

TinyDB alone overwrites its file in place (a kill mid-write corrupts it), has no locking, and
rewrites the whole file on every insert.  So each transaction here:

1. takes an inter-process lock (`<db>.lock`, via filelock),
2. reads each file it touches once into memory (`SnapshotStorage`),
3. lets the caller use the ordinary TinyDB API on that snapshot (every write stays in memory),
4. writes each changed file once: temp file in the same folder, fsync, `os.replace`, fsync the folder.
   When several files change, a commit record (`<db>.commit`, listing the staged temp files) is
   made durable before the first rename, so that a kill between two renames is rolled forward
   by the next transaction: a multi-file change (a subscriber and its channel index, an import
   over many shards) lands whole or not at all.

A database is the main file (`--db PATH`: draws, revisions, status) plus `<PATH>.d/` holding the
outbox and the subscriber shards, so that no operation reads or writes more than it needs.
Readers need no lock: `os.replace` means they always see whole files.  Files are created with
mode 0600 (they hold channel URLs with passwords and tokens).
"""

from __future__ import annotations

import glob
import os
import secrets
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


MAIN = "main"  # the part named by --db itself


class SnapshotStorage(Storage):
    """TinyDB storage over an in-memory snapshot of one file, flushed once per transaction."""

    def __init__(self, path: Path, read_only: bool = False):
        self.path = path
        self.read_only = read_only
        self._data = load(path)
        self.dirty = False

    def read(self) -> dict[str, Any] | None:
        return self._data

    def write(self, data: dict[str, Any]) -> None:
        if self.read_only:
            raise DatabaseError("internal error: a read-only view was written to")
        self._data = data
        self.dirty = True


class Transaction:
    """The TinyDB files of one database, each read when first used and written once at commit.

    `table(name)` is a table of the main file (draws, meta, …); `part(name)` is another file of
    the same database (`<db>.d/<name>.json`): subscribers are sharded over such parts so that one
    subscribe reads and writes a few small files, never all subscribers.
    """

    def __init__(self, database: Database, read_only: bool, atomic: bool = True):
        self.database = database
        self.read_only = read_only
        self.atomic = atomic
        self._storages: dict[str, SnapshotStorage] = {}
        self._dbs: dict[str, TinyDB] = {}

    def part(self, name: str = MAIN) -> TinyDB:
        if name not in self._dbs:
            storage = SnapshotStorage(self.database.part_path(name), self.read_only)
            self._storages[name] = storage
            self._dbs[name] = TinyDB(storage=lambda: storage)
        return self._dbs[name]

    def table(self, name: str) -> Any:
        return self.part(MAIN).table(name)

    def raw(self, part: str, table: str) -> dict[str, dict[str, Any]]:
        """A table's documents as stored ({doc id: dict}), for fast read-only scans."""
        return (self.part(part).storage.read() or {}).get(table, {})

    def release(self, name: str) -> None:
        """Forget a part read only for a scan, so that scanning every shard streams."""
        storage = self._storages.get(name)
        if storage is not None and not storage.dirty:
            del self._storages[name], self._dbs[name]

    def part_exists(self, name: str) -> bool:
        return self.database.part_path(name).exists()

    def flush(self) -> None:
        """Write every changed file: all temp files first, then the renames (a short window)."""
        dirty = [s for s in self._storages.values() if s.dirty]
        if not dirty:
            return
        if any(s.path.parent != self.database.path.parent for s in dirty):
            self.database.parts_dir.mkdir(mode=0o700, exist_ok=True)
        # The main file goes last: it records which draws were seen, so a crash between two
        # renames can leave queued deliveries for draws not yet marked seen (re-planned with the
        # same ids and de-duplicated), never draws marked seen without their deliveries.
        dirty.sort(key=lambda s: s.path == self.database.path)
        staged = [(s, stage(s.path, orjson.dumps(s.read()))) for s in dirty]
        record = self.database.commit_path if self.atomic and len(staged) > 1 else None
        if record:
            os.replace(stage(record, orjson.dumps([[tmp, str(s.path)] for s, tmp in staged])), record)
            fsync_dir(record.parent)
        for storage, tmp in staged:
            os.replace(tmp, storage.path)
            storage.dirty = False
        for folder in {s.path.parent for s in dirty}:
            fsync_dir(folder)
        if record:
            record.unlink()
            fsync_dir(record.parent)



class Database:
    """A crswatch database: `transaction()` to change it, `reader()` to look."""

    def __init__(self, path: str | os.PathLike[str], lock_timeout: float = 30.0):
        # A --db that is a symlink is followed: writes replace the real file (and its parts, locks
        # and keys live beside it), never the link with a regular file beside the real one.
        path = Path(path).expanduser()
        self.path = path.resolve() if path.is_symlink() else path
        self.lock_timeout = lock_timeout

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @property
    def commit_path(self) -> Path:
        return self.path.with_name(self.path.name + ".commit")

    @property
    def parts_dir(self) -> Path:
        return self.path.with_name(self.path.name + ".d")

    def part_path(self, name: str) -> Path:
        return self.path if name == MAIN else self.parts_dir / f"{name}.json"

    @contextmanager
    def transaction(self, commit: bool = True, atomic: bool = True) -> Iterator[Transaction]:
        """Lock, yield a Transaction, and write what changed atomically if the block succeeds.

        With commit=False (a rehearsal, `--dry-run`) nothing is written.  atomic=False skips the
        commit record, for changes whose files are independent of each other."""
        self._ensure_folder()
        lock = FileLock(self.lock_path, timeout=self.lock_timeout, mode=0o600)
        try:
            lock.acquire()
        except Timeout:
            raise DatabaseBusy(f"the database {self.path} is locked by another crswatch process") from None
        try:
            self._check_main()
            self._roll_forward()
            self._remove_stale()
            tx = Transaction(self, read_only=False, atomic=atomic)
            yield tx
            if commit:
                try:
                    tx.flush()
                except OSError as exc:
                    raise DatabaseError(f"cannot write the database {self.path}: {exc.strerror}") from None
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
    def reader(self) -> Iterator[Transaction]:
        """A read-only view of the last committed state (no lock needed: files are replaced whole)."""
        self._check_main()
        yield Transaction(self, read_only=True)

    def _roll_forward(self) -> None:
        """Finish a multi-file commit that a kill interrupted between its renames (under the lock)."""
        try:
            pairs = orjson.loads(self.commit_path.read_bytes())
        except FileNotFoundError:
            return
        except (OSError, orjson.JSONDecodeError) as exc:
            raise DatabaseError(f"cannot read the commit record {self.commit_path}: {exc}; the database was left untouched") from None
        for tmp, final in pairs:
            if Path(tmp).exists():
                os.replace(tmp, final)
        for folder in {Path(final).parent for _, final in pairs}:
            fsync_dir(folder)
        self.commit_path.unlink()
        fsync_dir(self.commit_path.parent)

    def check(self) -> None:
        """DatabaseError unless --db is a crswatch draws file or does not exist yet (its folder is made)."""
        self._ensure_folder()
        self._check_main()

    def _check_main(self) -> None:
        """Every command, whichever files it reads, first makes sure --db is a crswatch database
        (or does not exist yet): a cheap look at its first bytes, the whole file is read by `load`."""
        try:
            with self.path.open("rb") as handle:
                head = handle.read(256).lstrip()
        except FileNotFoundError:
            return
        except IsADirectoryError:
            raise DatabaseError(f"the database {self.path} is a folder, not a crswatch database") from None
        except OSError as exc:
            raise DatabaseError(f"cannot read the database {self.path}: {exc.strerror}") from None
        if not head or not head.startswith(b"{"):
            load(self.path)  # says precisely what is wrong

    def _remove_stale(self) -> None:
        """Temp files a killed or failed write left behind (under the lock, after the roll-forward,
        none is in use): removed, so that a full disk does not stay full."""
        stale = list(self.path.parent.glob(f".{glob.escape(self.path.name)}.*.tmp"))
        if self.parts_dir.is_dir():
            stale += self.parts_dir.glob(".*.tmp")
        for tmp in stale:
            tmp.unlink(missing_ok=True)

    def secret(self, name: str) -> bytes:
        """A random 256-bit key kept beside the database (`<db>.d/<name>.key`, mode 0600), made on
        first use: it signs the links in alerts, so it lives as long as the subscribers do."""
        path = self.parts_dir / f"{name}.key"
        try:
            return bytes.fromhex(path.read_text().strip())
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            raise DatabaseError(f"cannot read the key {path}: {exc}") from None
        with self.transaction():  # one writer makes it; the others read what it wrote
            self.parts_dir.mkdir(mode=0o700, exist_ok=True)
            if not path.exists():
                tmp = stage(path, secrets.token_hex(32).encode())
                os.replace(tmp, path)
                fsync_dir(self.parts_dir)
        return bytes.fromhex(path.read_text().strip())

    def _ensure_folder(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create the folder for {self.path}: {exc.strerror}") from None


def load(path: Path) -> dict[str, Any] | None:
    """The file's tables, None when the file does not exist yet; DatabaseError when unreadable.

    An empty file is not an empty database: crswatch never writes one (every write is a whole
    JSON document, renamed into place), so an empty file means something else truncated it, and
    treating it as new would store the history as a "first check" and alert nobody."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise DatabaseError(f"the database {path} is a folder, not a crswatch database") from None
    except OSError as exc:
        raise DatabaseError(f"cannot read the database {path}: {exc.strerror}") from None
    if not data.strip():
        raise DatabaseError(
            f"the database {path} is empty ({len(data)} bytes), not a crswatch database; it was left untouched "
            "(restore it from a backup, or remove it to start afresh)"
        )
    try:
        tables = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DatabaseError(
            f"the database {path} is corrupt or not a crswatch database ({exc}); it was left untouched"
        ) from None
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise DatabaseError(f"the database {path} is not a crswatch database; it was left untouched")
    return tables


def stage(path: Path, data: bytes) -> str:
    """Write `data` to a fsynced temp file beside `path` (mode 0600); return its name."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def fsync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
