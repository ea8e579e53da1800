"""Subscribers in TinyDB, sharded so that one subscribe costs the same at 100,000 as at 10.

Records live in `SHARDS` part files (`subscribers-NN`, by a hash of the id); a channel index,
sharded the same way by a hash of the URL (`channels-NN`), finds the subscriber who already uses a
channel.  A subscribe or update therefore reads and writes two or three small files.  The index
holds hashes, never the URLs themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .model import Subscriber, hash_token, new_id
from .validate import Invalid

SHARDS = 64
RECORDS, INDEX = "subscribers", "channels"


def record_part(subscriber_id: str) -> str:
    return f"subscribers-{zlib.crc32(subscriber_id.encode()) % SHARDS:02d}"


def channel_hash(url: str) -> str:
    return hashlib.blake2b(url.strip().encode(), digest_size=12).hexdigest()


def index_part(digest: str) -> str:
    return f"channels-{int(digest[:8], 16) % SHARDS:02d}"


@dataclass
class Found:
    subscriber: Subscriber
    doc_id: int


def get(tx: Any, key: str) -> Found | None:
    """The subscriber with this id, or whose unsubscribe token this is."""
    key = key.strip()
    subscriber_id = key.split(".", 1)[0]
    for doc_id, doc in tx.raw(record_part(subscriber_id), RECORDS).items():
        if doc["id"] == subscriber_id:
            if "." in key and not hmac.compare_digest(doc.get("token_hash") or hash_token(doc["token"]), hash_token(key)):
                return None
            return Found(Subscriber.from_doc(doc), int(doc_id))
    return None


def require(tx: Any, key: str) -> Found:
    found = get(tx, key)
    if found is None:
        raise Invalid([f"no subscriber with id or token {key.split('.', 1)[0]!r} (see: crswatch subscribers)"])
    return found


def owners(tx: Any, urls: Iterable[str]) -> dict[str, str]:
    """{url: subscriber id} for the given channels that are already subscribed (one scan per
    index shard touched, however many URLs)."""
    by_part: dict[str, dict[str, str]] = {}
    for url in urls:
        digest = channel_hash(url)
        by_part.setdefault(index_part(digest), {})[digest] = url
    found = {}
    for part, wanted in by_part.items():
        for doc in tx.raw(part, INDEX).values():
            if doc["h"] in wanted:
                found[wanted[doc["h"]]] = doc["id"]
    return found


def find_many(tx: Any, ids: Iterable[str]) -> dict[str, Found]:
    """{id: Found} for the ids that exist (one scan per shard touched)."""
    by_part: dict[str, set[str]] = {}
    for subscriber_id in ids:
        by_part.setdefault(record_part(subscriber_id), set()).add(subscriber_id)
    found = {}
    for part, wanted in by_part.items():
        for doc_id, doc in tx.raw(part, RECORDS).items():
            if doc["id"] in wanted:
                found[doc["id"]] = Found(Subscriber.from_doc(doc), int(doc_id))
    return found


def all_ids(tx: Any) -> set[str]:
    return {doc["id"] for part in _existing_parts(tx) for doc in tx.raw(part, RECORDS).values()}


def unique_id(tx: Any, taken: set[str] | None = None) -> str:
    """A fresh id; pass `taken` (from `all_ids`) when making many, to check without re-reading."""
    while True:
        candidate = new_id()
        exists = candidate in taken if taken is not None else get(tx, candidate) is not None
        if exists:
            continue
        if taken is not None:
            taken.add(candidate)
        return candidate


def insert(tx: Any, subscribers: Iterable[Subscriber]) -> None:
    """Store new subscribers: one insert_multiple per touched shard, however many there are."""
    by_part: dict[str, list[dict[str, Any]]] = {}
    for sub in subscribers:
        by_part.setdefault(record_part(sub.id), []).append(sub.to_doc())
    for part, docs in by_part.items():
        tx.part(part).table(RECORDS).insert_multiple(docs)
    _index(tx, [(c["url"], sub["id"]) for docs in by_part.values() for sub in docs for c in sub["channels"]])


def replace_all(tx: Any, pairs: Iterable[tuple[Found, Subscriber]]) -> None:
    """Write new versions of stored subscribers (one update per touched shard) and re-index."""
    by_part: dict[str, dict[int, dict[str, Any]]] = {}
    added, dropped = [], []
    for found, new in pairs:
        by_part.setdefault(record_part(new.id), {})[found.doc_id] = new.to_doc()
        old_urls, new_urls = set(found.subscriber.urls), set(new.urls)
        added += [(url, new.id) for url in new_urls - old_urls]
        dropped += [(url, new.id) for url in old_urls - new_urls]
    for part, docs in by_part.items():
        by_id = {doc["id"]: doc for doc in docs.values()}
        tx.part(part).table(RECORDS).update(lambda doc: doc.update(by_id[doc["id"]]), doc_ids=list(docs))
    _unindex(tx, dropped)
    _index(tx, added)


def delete(tx: Any, found: Found) -> None:
    tx.part(record_part(found.subscriber.id)).table(RECORDS).remove(doc_ids=[found.doc_id])
    _unindex(tx, [(url, found.subscriber.id) for url in found.subscriber.urls])


def iter_all(tx: Any) -> Iterator[Subscriber]:
    """Every subscriber, one shard in memory at a time (for listing)."""
    for doc in iter_docs(tx):
        yield Subscriber.from_doc(doc)


def iter_docs(tx: Any) -> Iterator[dict[str, Any]]:
    """Every subscriber record as stored (plain dicts), one shard in memory at a time: the fast
    path for matching 100,000 subscribers without building objects for those not concerned."""
    for part in _existing_parts(tx):
        docs = list(tx.raw(part, RECORDS).values())
        tx.release(part)
        yield from docs


def count(tx: Any) -> int:
    return sum(len(tx.raw(part, RECORDS)) for part in _existing_parts(tx))


def _existing_parts(tx: Any) -> Iterator[str]:
    for shard in range(SHARDS):
        part = f"subscribers-{shard:02d}"
        if tx.part_exists(part):
            yield part


def _index(tx: Any, pairs: list[tuple[str, str]]) -> None:
    by_part: dict[str, list[dict[str, str]]] = {}
    for url, subscriber_id in pairs:
        digest = channel_hash(url)
        by_part.setdefault(index_part(digest), []).append({"h": digest, "id": subscriber_id})
    for part, docs in by_part.items():
        tx.part(part).table(INDEX).insert_multiple(docs)


def _unindex(tx: Any, pairs: list[tuple[str, str]]) -> None:
    by_part: dict[str, set[tuple[str, str]]] = {}
    for url, subscriber_id in pairs:
        digest = channel_hash(url)
        by_part.setdefault(index_part(digest), set()).add((digest, subscriber_id))
    for part, gone in by_part.items():
        doomed = [int(k) for k, doc in tx.raw(part, INDEX).items() if (doc["h"], doc["id"]) in gone]
        if doomed:
            tx.part(part).table(INDEX).remove(doc_ids=doomed)
