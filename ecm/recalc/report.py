"""A recalculation's difference as files a contract manager reads before it is applied.

``visits.csv`` lists every visit whose figures change (before and after), ``providers.csv``
the visits judged and changed and the money before and after per provider, and
``summary.md`` says it in words, with the command that applies it.
"""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from ecm.recalc.diff import RecalcDiff, VisitChange

VISIT_COLUMNS = (
    "visit_id", "provider_id", "local_date", "changes", "status_before", "status_after",
    "payable_before", "payable_after", "payable_delta", "verified_before", "verified_after",
    "trust_before", "trust_after", "judged_by_before", "judged_by_after",
)
PROVIDER_COLUMNS = (
    "provider_id", "visits_judged", "visits_changed", "payable_before", "payable_after",
    "payable_delta", "verified_before", "verified_after", "verified_delta",
)


def money(value: Decimal) -> str:
    """Pounds to the penny, half-up, with a sign when negative."""
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _opt(value: object) -> str:
    if value is None:
        return ""
    return money(value) if isinstance(value, Decimal) else str(value)


def visit_row(v: VisitChange) -> list[str]:
    """One line of ``visits.csv``."""
    b, a = v.before, v.after
    return [
        v.visit_id, v.provider_id, v.local_date.isoformat(), " ".join(v.changes),
        _opt(b.status if b else None), a.status, _opt(b.payable_gbp if b else None),
        money(a.payable_gbp), money(v.payable_delta), _opt(b.verified_gbp if b else None),
        money(a.verified_gbp), _opt(b.trust_score if b else None), _opt(a.trust_score),
        _opt(b.judged_by if b else None), _opt(a.judged_by),
    ]


def write_report(diff: RecalcDiff, out: Path, title: str, next_step: str) -> list[Path]:
    """Write visits.csv, providers.csv and summary.md into ``out``; return their paths.

    ``next_step`` says where the recalculation stands (``NOT_RECORDED``, ``stands``).
    """
    out.mkdir(parents=True, exist_ok=True)
    visits, providers, summary = out / "visits.csv", out / "providers.csv", out / "summary.md"
    with visits.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(VISIT_COLUMNS)
        writer.writerows(visit_row(v) for v in diff.visits)
    with providers.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PROVIDER_COLUMNS)
        for p in sorted(diff.providers.values(), key=lambda p: p.provider_id):
            writer.writerow([p.provider_id, p.visits_judged, p.visits_changed,
                             money(p.payable_before), money(p.payable_after),
                             money(p.payable_delta), money(p.verified_before),
                             money(p.verified_after), money(p.verified_delta)])
    summary.write_text(summary_text(diff, title, next_step), encoding="utf-8")
    return [visits, providers, summary]


def summary_text(diff: RecalcDiff, title: str, next_step: str) -> str:
    """The difference in words: totals, where it stands, a line per provider that changed."""
    delta = diff.payable_after - diff.payable_before
    lines = [
        f"# {title}", "",
        f"{diff.visits_judged} visits judged again; {len(diff.visits)} change. Payable "
        f"money moves from £{money(diff.payable_before)} to £{money(diff.payable_after)} "
        f"(£{money(delta)}).", "",
        next_step, "",
        "| provider | visits judged | visits changed | payable before | payable after "
        "| change | verified change |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in sorted(diff.providers.values(), key=lambda p: p.provider_id):
        if p.visits_changed or p.payable_delta:
            lines.append(f"| {p.provider_id} | {p.visits_judged} | {p.visits_changed} | "
                         f"£{money(p.payable_before)} | £{money(p.payable_after)} | "
                         f"£{money(p.payable_delta)} | £{money(p.verified_delta)} |")
    lines += ["", "Each changed visit, before and after: `visits.csv`; per provider: "
              "`providers.csv`.", ""]
    return "\n".join(lines)


NOT_RECORDED = ("Nothing has changed: this comparison was made without a database, so it "
                "was not recorded and cannot be applied.")


def stands(recalculation_id: str, visits_changed: int, applied_at: datetime | None,
           applied_by: str | None) -> str:
    """Where a recorded recalculation stands, and how to apply it if it is still to be."""
    if applied_at is not None:
        return (f"Applied {applied_at:%Y-%m-%d %H:%M %Z} by {applied_by}: the stored outcomes "
                "and the KPIs show the figures after (a visit judged again since keeps its "
                "newer outcome).")
    if not visits_changed:
        return "Nothing to apply: no visit's figures change."
    return ("Nothing has changed yet: the stored outcomes and the KPIs still show the old "
            "figures. To replace them, keeping this record: "
            f"`ecm recalc apply {recalculation_id} --by NAME`.")
