"""The draws database: one TinyDB file per host (`--db`), with atomic writes and a file lock.

It holds the public draw history (draws, their revisions) and this host's feed validators: a few
hundred records, rebuilt from the feed at any time.  Everything private and transactional lives
in the SQL store (`store.sql`).  TinyDB alone overwrites its file in place (a kill mid-write
corrupts it), has no locking, and rewrites the whole file on every insert.  So each transaction:

1. takes an inter-process lock (`<db>.lock`, via filelock),
2. reads the file once into memory (`SnapshotStorage`),
3. lets the caller use the ordinary TinyDB API on that snapshot (every write stays in memory),
4. writes it once if it changed: temp file in the same folder, fsync, `os.replace`, fsync the folder.

Readers need no lock: `os.replace` means they always see a whole file.  The file is created with
mode 0600.
"""

from __future__ import annotations

import glob
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
from tinydb.table import Table

from .errors import DatabaseBusy, DatabaseError


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
    """The draws file, read when first used and written once at commit (`table(name)`)."""

    def __init__(self, database: Database, read_only: bool):
        self.database = database
        self.read_only = read_only
        self._storage: SnapshotStorage | None = None
        self._db: TinyDB | None = None

    @property
    def db(self) -> TinyDB:
        if self._db is None:
            storage = self._storage = SnapshotStorage(self.database.path, self.read_only)
            self._db = TinyDB(storage=lambda: storage)
        return self._db

    def table(self, name: str) -> Table:
        return self.db.table(name)

    def flush(self) -> None:
        storage = self._storage
        if storage is None or not storage.dirty:
            return
        tmp = stage(storage.path, orjson.dumps(storage.read()))
        os.replace(tmp, storage.path)
        storage.dirty = False
        fsync_dir(storage.path.parent)


class Database:
    """A crswatch database: `transaction()` to change it, `reader()` to look."""

    def __init__(self, path: str | os.PathLike[str], lock_timeout: float = 30.0, create_folder: bool = True):
        # A --db that is a symlink is followed: writes replace the real file (and its parts, locks
        # and keys live beside it), never the link with a regular file beside the real one.
        path = Path(path).expanduser()
        self.path = path.resolve() if path.is_symlink() else path
        self.lock_timeout = lock_timeout
        self.create_folder = create_folder  # the default place is made on first use; a --db given is not
        self._checked: tuple[int, int] | None = None

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @contextmanager
    def transaction(self, commit: bool = True) -> Iterator[Transaction]:
        """Lock, yield a Transaction, and write what changed atomically if the block succeeds.
        With commit=False (a rehearsal, `--dry-run`) nothing is written."""
        self.ensure_folder()
        lock = FileLock(self.lock_path, timeout=self.lock_timeout, mode=0o600)
        try:
            lock.acquire()
        except Timeout:
            raise DatabaseBusy(f"the database {self.path} is locked by another crswatch process") from None
        except OSError as exc:  # a read-only or full folder
            raise DatabaseError(f"cannot lock the database {self.path}: {exc.strerror}") from None
        try:
            self._check_main()
            self._remove_stale()
            tx = Transaction(self, read_only=False)
            yield tx
            if commit:
                try:
                    tx.flush()
                except OSError as exc:
                    raise DatabaseError(f"cannot write the database {self.path}: {exc.strerror}") from None
        finally:
            lock.release()

    @contextmanager
    def reader(self) -> Iterator[Transaction]:
        """A read-only view of the last committed state (no lock needed: files are replaced whole)."""
        if not self.create_folder and not self.path.parent.is_dir():
            self.ensure_folder()  # says what is wrong
        self._check_main()
        yield Transaction(self, read_only=True)

    def peek(self) -> None:
        """Like `check`, for a command that only looks: nothing is created (not even the folder)."""
        if not self.create_folder and not self.path.parent.is_dir():
            self.ensure_folder()  # says what is wrong
        self._check_main()

    def check(self) -> None:
        """DatabaseError unless --db is a crswatch draws file or does not exist yet (its folder is made)."""
        self.ensure_folder()
        self._check_main()

    def _check_main(self) -> None:
        """Every command, whichever data it uses, first makes sure --db is a crswatch draws file
        (or does not exist yet): a file of another program is never used, nor written beside."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise DatabaseError(f"cannot read the database {self.path}: {exc.strerror}") from None
        if self._checked == (info.st_mtime_ns, info.st_size):
            return
        load(self.path)  # DatabaseError unless it is TinyDB's JSON: tables of documents
        self._checked = (info.st_mtime_ns, info.st_size)

    def _remove_stale(self) -> None:
        """Temp files a killed or failed write left behind (under the lock, after the roll-forward,
        none is in use): removed, so that a full disk does not stay full."""
        for tmp in self.path.parent.glob(f".{glob.escape(self.path.name)}.*.tmp"):
            tmp.unlink(missing_ok=True)

    def ensure_folder(self) -> None:
        if not self.create_folder and not self.path.parent.is_dir():
            raise DatabaseError(
                f"the folder of the database {self.path} does not exist (create it, or choose another --db)"
            )
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
