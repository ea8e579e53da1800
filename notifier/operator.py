"""Operator notices: one message per incident, never one per check."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from crswatch.draws.record import Draw
from crswatch.draws.streams import OTHER

from .outbox import Delivery


@dataclass(frozen=True)
class Notice:
    title: str
    text: str


def notices(
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    failures_threshold: int,
    new_draws: list[Draw] = (),  # type: ignore[assignment]
    dead: list[Delivery] = (),  # type: ignore[assignment]
) -> list[Notice]:
    """What the operator should hear about, given the status before and after one check."""
    out: list[Notice] = []
    failures = after.get("consecutive_failures", 0)
    if after.get("outcome") == "failed" and failures == failures_threshold:
        out.append(
            Notice(f"crswatch: the feed failed {failures} checks in a row", f"Last error: {after.get('message', '')}")
        )
    if after.get("outcome") == "rejected" and before.get("outcome") != "rejected":
        out.append(
            Notice(
                "crswatch: the feed was rejected as malformed",
                f"Nothing was stored. Reason: {after.get('message', '')}",
            )
        )
    if after.get("outcome") == "unwritable" and before.get("outcome") != "unwritable":
        out.append(
            Notice("crswatch: the draws file cannot be written", f"Nothing was stored. {after.get('message', '')}")
        )
    if after.get("outcome") in ("updated", "unchanged") and before.get("consecutive_failures", 0) >= failures_threshold:
        out.append(
            Notice("crswatch: the feed is back", f"A check succeeded after {before['consecutive_failures']} failures.")
        )
    out += _newly_held(before, after)
    out += _stored_with_doubts(new_draws)
    if dead:
        sample = ", ".join(f"{d.id} ({d.last_error})" for d in dead[:5])
        out.append(
            Notice(
                f"crswatch: {len(dead)} {'delivery is' if len(dead) == 1 else 'deliveries are'} dead",
                f"They failed every retry and will not be tried again: {sample}. Re-queue with: crswatch retry --dead",
            )
        )
    return out


def _newly_held(before: dict[str, Any], after: dict[str, Any]) -> list[Notice]:
    """One notice per round held in this check and not already held before it."""
    out: list[Notice] = []
    held_before = {(h.get("number"), h.get("reason")) for h in before.get("held") or []}
    for held in after.get("held") or []:
        if (held.get("number"), held.get("reason")) not in held_before:
            out.append(
                Notice(
                    f"crswatch: round #{held['number']} is held, not stored"
                    if held.get("number")
                    else "crswatch: rounds are held, not stored",
                    f"{held.get('reason')}. Nobody was alerted about it. Every check reads the feed again and "
                    "stores the round once it can be read and is plausible; `crswatch status` lists what is held.",
                )
            )
    return out


def _stored_with_doubts(new_draws: list[Draw]) -> list[Notice]:
    """New draws stored with an unknown program or with optional fields left empty."""
    out: list[Notice] = []
    for draw in new_draws:
        if draw.stream == OTHER:
            out.append(Notice(f"crswatch: draw #{draw.number} has an unknown program", unknown_name(draw.program)))
        fields = [w for w in draw.warnings if not w.startswith("unknown draw name")]
        if fields:
            out.append(
                Notice(
                    f"crswatch: draw #{draw.number} was stored with fields left empty",
                    "Stored and alerted; these optional fields could not be read and were left empty: "
                    + "; ".join(fields),
                )
            )
    return out


def unknown_name(program: str) -> str:
    """What the operator reads about an unknown draw name, with the configuration that maps it."""
    name = json.dumps(program, ensure_ascii=False)  # a TOML basic string: quotes and backslashes escaped
    return (
        f"{name} matches no known stream: it was stored as 'other' and only subscribers of 'other' were alerted. "
        "If it is a known category under a new name, add to the configuration file:\n\n"
        f'[streams]\n{name} = "healthcare"    # the existing code it belongs to (see: crswatch streams)\n\n'
        f'or, for a new category:\n\n[streams]\n{name} = {{ code = "newcode", label = "What it is" }}\n\n'
        "The next check re-classifies the draw and sends each subscriber it concerns one late alert."
    )
