"""How current the catalog is: its as-of date, counts, newest release per family, open questions.

`vlmselect catalog stats` prints this; `doctor` warns from the same as-of date when the shipped
catalog has grown old. Pure: a Catalog in, plain data out.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, cast

if TYPE_CHECKING:
    from vlmselect.catalog import ApiSpec, Catalog, ModelSpec

STALE_MONTHS = 6  # doctor warns when the shipped catalog's newest fact is older than this


class CatalogStats(NamedTuple):
    as_of: dt.date | None  # newest dated fact: a release, a price or status reading, a score's publication
    as_of_basis: str  # which fact gave it
    counts: dict[str, int]  # kind -> entries
    newest_by_family: dict[str, dict[str, str]]  # family -> {"id", "released"}
    with_unverified: int  # entries listing fields taken on weaker evidence
    with_unknown: int  # entries with an estimator input no primary source gives
    entries: int

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat() if self.as_of else None, "as_of_basis": self.as_of_basis,
            "counts": dict(self.counts), "entries": self.entries,
            "with_unverified": self.with_unverified, "with_unknown": self.with_unknown,
            "newest_by_family": {k: dict(v) for k, v in self.newest_by_family.items()},
        }


def _date(v: Any) -> dt.date | None:
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v)) if v else None
    except ValueError:
        return None


def _dated_facts(m: ModelSpec | ApiSpec) -> list[tuple[dt.date, str]]:
    """(date, what) for every dated fact of one entry, a scheduled retirement excepted (it is a plan)."""
    out = [(m.released, f"{m.id} released")]
    price_read = getattr(m, "price_as_of", None)  # APIs only
    if price_read:
        out.append((price_read, f"{m.id} price read"))
    status_read = _date((m.facts.get("status") or {}).get("as_of"))
    if status_read:  # a check of the provider's deprecations page is content as of that day
        out.append((status_read, f"{m.id} status read"))
    for key, b in (m.facts.get("benchmarks") or {}).items():
        d = _date(b.get("date")) if isinstance(b, dict) else None
        if d:
            out.append((d, f"{m.id} {key} published"))
    return out


def catalog_stats(cat: Catalog, only_files: set[str] | None = None, today: dt.date | None = None) -> CatalogStats:
    """Stats over the models and APIs of `cat` (those from `only_files`, when given).
    Dates after `today` (a typo, or a date not reached yet) never count towards the as-of date."""
    today = today or dt.date.today()
    every: tuple[ModelSpec | ApiSpec, ...] = (*cat.models.values(), *cat.apis.values())
    items = [m for m in every if only_files is None or m.origin in only_files]
    dated = [(d, what) for m in items for d, what in _dated_facts(m) if d <= today]
    as_of, basis = max(dated) if dated else (None, "no dated facts")
    newest: dict[str, dict[str, str]] = {}
    for m in items:
        fam = m.family if m.kind == "local" else m.provider
        cur = newest.get(fam)
        # cur["released"] is an ISO date written below, so _date() gives a date
        if cur is None or m.released > cast(dt.date, _date(cur["released"])):
            newest[fam] = {"id": m.id, "released": m.released.isoformat(), "kind": m.kind}
    counts = {"local": len([m for m in items if m.kind == "local"]), "api": len([m for m in items if m.kind == "api"])}
    if only_files is None:
        counts.update(gpus=len(cat.gpus), tasks=len(cat.tasks))
    return CatalogStats(
        as_of=as_of, as_of_basis=basis, counts=counts,
        newest_by_family=dict(sorted(newest.items(), key=lambda kv: kv[1]["released"], reverse=True)),
        with_unverified=sum(1 for m in items if m.unverified),
        with_unknown=sum(1 for m in items if m.facts.get("unknown")),
        entries=len(items),
    )


def shipped_files() -> set[str]:
    from vlmselect.catalog import shipped_dir

    return {str(p) for p in Path(shipped_dir()).glob("*.yaml")}


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months earlier (clamped to the month's last day)."""
    import calendar

    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))
