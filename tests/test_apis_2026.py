"""Hosted APIs of 2026 and today's status of the older ones, each fact as its provider publishes it."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlparse

import pytest

TODAY = dt.date(2026, 11, 30)
PROVIDER_DOMAINS = {
    "openai": ("openai.com", "developers.openai.com", "platform.openai.com"),
    "anthropic": ("platform.claude.com", "docs.anthropic.com", "www.anthropic.com"),
    "google": ("ai.google.dev", "cloud.google.com"),
}


def _new_apis(catalog):
    return [a for a in catalog.apis.values() if a.origin.endswith("2026-apis.yaml")]


def test_the_2026_lines_are_present(catalog):
    ids = {a.id for a in _new_apis(catalog)}
    assert {"gpt-5.1", "gpt-5.2", "gpt-5.5", "gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna",
            "claude-opus-4.6", "claude-sonnet-4.6", "gemini-3.5-flash", "gemini-3.8-flash"} <= ids


def test_prices_and_statuses_cite_the_providers_own_pages(catalog):
    for a in _new_apis(catalog):
        domains = PROVIDER_DOMAINS[a.provider]
        assert urlparse(a.price_source).netloc in domains, a.id
        assert a.price_as_of is not None and a.price_as_of <= TODAY, a.id
        status_src = (a.facts.get("status") or {}).get("source", "")
        assert urlparse(status_src).netloc in domains, a.id
        # Read through a copy -> said so: either the page itself or `read_via` + `unverified: [price]`.
        if a.facts["price"].get("read_via"):
            assert "price" in a.unverified, a.id


def test_anthropic_model_pages(catalog):
    # platform.claude.com/docs/en/models/opus-4-6/overview: "Released February 5, 2026", 1M context, $5 / $25.
    opus = catalog.model("claude-opus-4-6")
    assert (opus.released, opus.input_per_mtok, opus.output_per_mtok, opus.context_max) == (
        dt.date(2026, 2, 5), 5.0, 25.0, 1_000_000)
    # .../sonnet-4-6/overview: "Released February 17, 2026", $3 / $15.
    sonnet = catalog.model("claude-sonnet-4-6")
    assert (sonnet.released, sonnet.input_per_mtok, sonnet.output_per_mtok) == (dt.date(2026, 2, 17), 3.0, 15.0)
    assert opus.status(TODAY) == sonnet.status(TODAY) == "active"  # "Legacy", not deprecated


def test_gemini_lines(catalog):
    # Google's pricing page (read 2026-10-07): 3.5 Flash $1.50 / $9.00; deprecations page: released May 19, 2026.
    f = catalog.model("gemini-3.5-flash")
    assert (f.input_per_mtok, f.output_per_mtok, f.released) == (1.5, 9.0, dt.date(2026, 5, 19))
    assert f.facts["price"]["batch_discount"] == 0.5
    # Gemini 3 Pro preview: shut down March 9, 2026, replaced by gemini-3.1-pro-preview (deprecations page).
    pro = catalog.model("gemini-3-pro")
    assert pro.retired == dt.date(2026, 3, 9) and pro.status(TODAY) == "retired"
    assert urlparse((pro.facts["status"] or {})["source"]).netloc == "ai.google.dev"
    assert pro.successor == "gemini-3.1-pro"


@pytest.mark.parametrize("mid", ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini"])
def test_gpt4_series_deprecated_in_october_2026(catalog, mid):
    # OpenAI deprecations page, "2026-10-14": shutdown 2027-01-14.
    a = catalog.model(mid)
    assert a.deprecated == dt.date(2026, 10, 14) and a.retired == dt.date(2027, 1, 14)
    assert a.status(TODAY) == "deprecated"
    assert a.status(dt.date(2024, 11, 1)) == "active"  # the seed's world is unchanged


def test_recommend_shows_the_status_today(cli):
    d = cli("recommend", "--task", "ocr", "--api", "--top", "40", "--as-of", "2026-11-30", "--json").json()
    status = {a["id"]: a["status"] for a in d["api"]}
    assert status["gpt-4o"] == "deprecated"
    assert "gemini-3-pro" not in status  # retired APIs are not recommended
    assert status.get("claude-opus-4.6") == "active"


def test_older_claude_prices_and_status_from_anthropics_model_pages(catalog):
    # platform.claude.com/docs/en/models/{opus-4-5,sonnet-4-5,haiku-4-5}/overview
    expect = {"claude-opus-4.5": (dt.date(2025, 11, 24), 5.0, 25.0),
              "claude-sonnet-4.5": (dt.date(2025, 9, 29), 3.0, 15.0),
              "claude-haiku-4.5": (dt.date(2025, 10, 15), 1.0, 5.0)}
    for mid, (released, i, o) in expect.items():
        a = catalog.model(mid)
        assert (a.released, a.input_per_mtok, a.output_per_mtok) == (released, i, o), mid
        assert urlparse(a.price_source).netloc == "platform.claude.com", mid
        assert a.facts["price"]["batch_discount"] == 0.5
    sonnet = catalog.model("claude-sonnet-4.5")  # "retires on November 30, 2026"
    assert sonnet.retired == dt.date(2026, 11, 30) and sonnet.status(TODAY) == "retired"
    assert catalog.model("claude-opus-4.5").status(TODAY) == "active"  # legacy, not deprecated
