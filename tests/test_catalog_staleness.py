"""The shipped catalog's as-of date follows what was checked in it, and doctor's six-month rule at its edges."""

from __future__ import annotations

import datetime as dt

import pytest

CHECKED = dt.date(2026, 11, 30)  # the day Anthropic's and Google's status pages were last read for this catalog


def test_a_status_reading_dates_the_catalog(cli):
    """Claude Sonnet 4.5's retirement was read on Anthropic's page on 2026-11-30 (status.as_of): the catalog is
    as of that day at least, not as of its newest release or price reading."""
    d = cli("catalog", "stats", "--json").json()
    assert dt.date.fromisoformat(d["as_of"]) >= CHECKED
    facts = cli("show", "claude-sonnet-4.5", "--json").json()
    assert facts["status"]["read"] == "2026-11-30"
    assert facts["status"]["source"].startswith("https://platform.claude.com/")


def test_a_status_read_date_counts_and_a_future_one_does_not(catalog):
    from vlmselect.catalog_stats import catalog_stats

    st = catalog_stats(catalog, today=CHECKED)
    assert st.as_of == CHECKED
    # The day before, facts dated 2026-11-30 have not happened yet and must not date the catalog.
    before = catalog_stats(catalog, today=CHECKED - dt.timedelta(days=1))
    assert before.as_of is not None and before.as_of < CHECKED


@pytest.mark.parametrize("today,status", [
    (dt.date(2027, 5, 30), "ok"),    # six calendar months after 2026-11-30: not older than six months yet
    (dt.date(2027, 5, 31), "ok"),    # May 31 -> Nov 30 (the month has no 31st): still six months
    (dt.date(2027, 6, 1), "warn"),   # six months and a day
])
def test_doctor_six_month_rule_at_its_edges(catalog, monkeypatch, today, status):
    import vlmselect.catalog_stats as cs
    from vlmselect.doctor import catalog_check

    real = cs.catalog_stats
    # Pin the catalog's as-of date to the day its statuses were read, whatever later entries add.
    monkeypatch.setattr(cs, "catalog_stats", lambda *a, **k: real(*a, **{**k, "today": CHECKED}))
    c = catalog_check(catalog, today=today)
    assert c.status == status, c.detail
    assert f"as of {CHECKED}" in c.detail
