"""The store's failures (a module of their own: the command line catches them without loading SQLAlchemy)."""


class StoreError(Exception):
    """The store cannot be used (unreachable, refused, or not a crswatch store); one clear line."""


class StoreURLError(StoreError):
    """The store URL itself is wrong (a usage error)."""


class SchemaBehind(StoreError):
    """A shared store is older than the code: it changes only on command (`crswatch db upgrade`)."""


class SchemaAhead(StoreError):
    """The store is newer than the code (another host was upgraded first): refused, never touched."""


class StoreBusy(StoreError):
    """Another process held a lock for longer than the wait allowed."""


class DatabaseError(StoreError):
    """The draws file cannot be read or written (it is never silently replaced)."""


class DatabaseBusy(StoreBusy):
    """Another process held the draws file's lock for longer than the timeout."""
