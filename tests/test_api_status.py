"""Hosted APIs' status on and around a retirement date, and where each status and price was read.

Anthropic's Claude Sonnet 4.5 page (platform.claude.com/docs/en/models/sonnet-4-5/overview, read 2026-11-30):
"Claude Sonnet 4.5 is deprecated ... and retires on November 30, 2026." Requests to a retired model fail, so from
that day on no command may offer it as if it worked.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlparse

RETIRES = dt.date(2026, 11, 30)
PROVIDER_HOSTS = {"openai.com", "developers.openai.com", "platform.openai.com", "platform.claude.com",
                  "docs.anthropic.com", "www.anthropic.com", "ai.google.dev", "cloud.google.com"}


def _recommend(cli, as_of: str) -> dict:
    return cli("recommend", "--task", "ocr", "--api", "--top", "60", "--as-of", as_of, "--json").json()


def test_sonnet_45_is_offered_the_day_before_its_retirement_with_the_date(cli):
    d = _recommend(cli, "2026-11-29")
    pick = {a["id"]: a for a in d["api"]}["claude-sonnet-4.5"]
    assert pick["status"] == "deprecated"
    assert "retires 2026-11-30" in pick["why"]


def test_sonnet_45_is_not_recommended_from_its_retirement_date(cli):
    d = _recommend(cli, RETIRES.isoformat())
    assert "claude-sonnet-4.5" not in {a["id"] for a in d["api"]}
    reasons = {e["id"]: e["reason"] for e in d["excluded"]}
    assert reasons["claude-sonnet-4.5"] == "retired on 2026-11-30"
    # A week later it stays out (the rule is "on or after", not "on").
    later = _recommend(cli, "2026-12-07")
    assert "claude-sonnet-4.5" not in {a["id"] for a in later["api"]}


def test_the_snippet_of_a_retired_api_says_it_is_retired(catalog):
    from vlmselect.memory import Workload
    from vlmselect.snippet_cli import make_snippet

    api = catalog.model("claude-sonnet-4.5")
    w = Workload()
    before = make_snippet(catalog, api, None, w, None, today=dt.date(2026, 11, 29))
    assert any(n.startswith("deprecated since 2026-09-30; retires 2026-11-30") for n in before.notes)
    on = make_snippet(catalog, api, None, w, None, today=RETIRES)
    assert on.notes[0] == "RETIRED: retired on 2026-11-30; the provider rejects requests to claude-sonnet-4-5-20250929"
    active = make_snippet(catalog, catalog.model("claude-opus-4.6"), None, w, None, today=RETIRES)
    assert not any("RETIRED" in n or "deprecated" in n for n in active.notes)


def test_gemini_20_flash_shutdown_is_sourced_to_googles_changelog(catalog):
    """ai.google.dev/gemini-api/docs/changelog, 2026-02-18: gemini-2.0-flash(-001, -lite, -lite-001) "will be shut
    down on June 1, 2026" (the 2026-01-22 entry had said March 31, 2026)."""
    a = catalog.model("gemini-2.0-flash")
    assert a.retired == dt.date(2026, 6, 1)
    assert urlparse(a.facts["status"]["source"]).netloc == "ai.google.dev"


def test_a_price_read_on_an_aggregator_is_flagged(catalog):
    """Every API price not read on the provider's own pricing page carries `price` in `unverified`."""
    flagged = []
    for a in catalog.apis.values():
        if urlparse(a.price_source).netloc not in PROVIDER_HOSTS:
            assert "price" in a.unverified, a.id
            flagged.append(a.id)
        assert a.price_as_of is not None, a.id  # the date read, always
    assert "gpt-4o" in flagged and "gemini-2.5-pro" in flagged
    assert "claude-sonnet-4.5" not in flagged  # read on Anthropic's own page


def test_status_sources_are_the_providers_own_pages_or_flagged(catalog):
    for a in catalog.apis.values():
        src = (a.facts.get("status") or {}).get("source")
        if not src or not (a.retired or a.deprecated):
            continue
        if urlparse(src).netloc not in PROVIDER_HOSTS:
            assert any(u.startswith("status") for u in a.unverified), a.id


def test_gpt5_line_is_deprecated_today_and_retires_on_december_11(catalog):
    """OpenAI deprecations page: "Dec 11, 2026 | gpt-5, gpt-5-2025-08-07 | Deprecated | ... | Jun 11, 2026" (notice
    date last), and the same row for gpt-5-mini and gpt-5-nano."""
    for mid in ("gpt-5", "gpt-5-mini", "gpt-5-nano"):
        a = catalog.model(mid)
        assert (a.deprecated, a.retired) == (dt.date(2026, 6, 11), dt.date(2026, 12, 11)), mid
        assert a.status(RETIRES) == "deprecated" and a.status(dt.date(2026, 12, 11)) == "retired", mid


def test_a_retired_successor_is_not_offered_as_the_way_out(cli):
    """Claude 3.5 Sonnet (retired 2025-10-22) names Sonnet 4.5 as its successor, and Sonnet 4.5 retired on
    2026-11-30: from that day the exclusion must not send users to it."""
    before = {e["id"]: e["reason"] for e in _recommend(cli, "2026-11-29")["excluded"]}
    assert before["claude-3.5-sonnet"] == "retired on 2025-10-22; successor: claude-sonnet-4.5"
    on = {e["id"]: e["reason"] for e in _recommend(cli, RETIRES.isoformat())["excluded"]}
    assert on["claude-3.5-sonnet"] == "retired on 2025-10-22; successor claude-sonnet-4.5 retired on 2026-11-30 too"
