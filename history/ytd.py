"""The year to date: invitations issued this year (Ottawa's year, up to Ottawa's today) per stream and
in all, beside the Immigration Levels Plan's admissions targets for the year (draws/levels.py).

Invitations and admissions targets are different things, and never divided one by the other here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from crswatch.draws.levels import GROUPS, NOT_INVITATIONS, group_of, targets_for


@dataclass(frozen=True)
class YearToDate:
    year: int
    today: date
    rows: list[dict[str, Any]]  # per stream, most invitations first, then "all"
    groups: list[dict[str, Any]]  # per plan group: invitations so far and the year's admissions target

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "until": self.today.isoformat(),
            "streams": self.rows,
            "plan": self.groups,
            "note": NOT_INVITATIONS,
        }

    def lines(self) -> list[str]:
        """The plan groups in words, under the table."""
        out = [
            f"Invitations issued in {self.year} up to {self.today} (Ottawa), beside IRCC's admissions targets for {self.year}:"
        ]
        for g in self.groups:
            target = (
                "no target found"
                if g["target"] is None
                else f"target {g['target']:,} admissions ({g['plan']}{'' if g['confirmed'] else ', one source'})"
            )
            out.append(f"  {g['name']}: {g['invitations']:,} invitations so far; {target}")
        out.append(f"Note: {NOT_INVITATIONS}.")
        return out


def year_to_date(records: Iterable[dict[str, Any]], today: date) -> YearToDate:
    """`records`: stored draws (any order); `today`: Ottawa's date (injected by tests)."""
    start = date(today.year, 1, 1).isoformat()
    by_stream: dict[str, list[int]] = {}
    for record in records:
        if start <= record["date"] <= today.isoformat():
            by_stream.setdefault(record["stream"], []).append(record["invitations"])
    rows: list[dict[str, Any]] = [{"stream": s, "draws": len(v), "invitations": sum(v), "plan_group": GROUPS.get(group_of(s) or "", "-")}
                                  for s, v in sorted(by_stream.items(), key=lambda item: (-sum(item[1]), item[0]))]  # fmt: skip
    everything = [n for v in by_stream.values() for n in v]
    rows.append({"stream": "all", "draws": len(everything), "invitations": sum(everything), "plan_group": None})
    found = targets_for(today.year, today)
    groups = []
    for group, name in GROUPS.items():
        invited = sum(sum(v) for s, v in by_stream.items() if group_of(s) == group)
        target = found.get(group)
        groups.append({"group": group, "name": name, "invitations": invited, "target": target.admissions if target else None,
                       "plan": target.plan if target else None, "confirmed": target.confirmed if target else None})  # fmt: skip
    return YearToDate(today.year, today, rows, groups)
