"""The store's failures (a module of their own: the command line catches them without loading SQLAlchemy)."""


class StoreError(Exception):
    """The store cannot be used (unreachable, refused, or not a crswatch store); one clear line."""


class StoreURLError(StoreError):
    """The store URL itself is wrong (a usage error)."""
