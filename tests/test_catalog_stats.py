"""`catalog stats`, doctor's catalog-age check and `show --json`, through the real command line."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

EXTRA = textwrap.dedent("""\
    - id: staleness-probe-vl
      name: Staleness Probe VL
      family: staleness-probe
      released: 2026-11-20
      license: apache-2.0
      hf_repo: example/staleness-probe
      trust_remote_code: false
      params: {total_b: 2.0}
      arch: {layers: 4, kv_heads: 2, head_dim: 64}
      context_max: 4096
      image_tokens: {rule: fixed, tokens: 64}
      capabilities: {single_image: 1, multi_image: 0, ocr: 1, documents: 0, charts: 0, grounding: 0, video: 0}
      sources: [https://example.org/card]
      unverified: [params.total_b]
      unknown: {arch.vocab: not published}
""")


def test_stats_counts_and_as_of_follow_the_catalog(cli, tmp_path):
    base = cli("catalog", "stats", "--json").json()
    extra = tmp_path / "probe-models.yaml"
    extra.write_text(EXTRA)
    d = cli("--catalog", str(extra), "catalog", "stats", "--json").json()
    assert d["counts"]["local"] == base["counts"]["local"] + 1
    assert d["counts"]["api"] == base["counts"]["api"]
    assert d["newest_by_family"]["staleness-probe"] == {"id": "staleness-probe-vl", "released": "2026-11-20",
                                                        "kind": "local"}
    assert d["with_unverified"] == base["with_unverified"] + 1
    assert d["with_unknown"] == base["with_unknown"] + 1
    # The as-of date is the newest dated fact: the probe's release unless the shipped catalog has a newer one.
    assert d["as_of"] == max(base["as_of"], "2026-11-20")
    if d["as_of"] == "2026-11-20":
        assert "staleness-probe-vl" in d["as_of_basis"]


def test_stats_table_names_the_as_of_date_and_families(cli):
    r = cli("catalog", "stats")
    assert r.code == 0, r.err
    d = cli("catalog", "stats", "--json").json()
    assert f"Catalog as of {d['as_of']}" in r.out
    assert "Newest release per family" in r.out and "qwen2-vl" in r.out
    # Every shipped local model and API is counted once.
    models = cli("models", "--json").json()
    assert d["counts"]["local"] + d["counts"]["api"] == len(models)


def _doctor_catalog_check(cli, monkeypatch, today):
    import vlmselect.doctor as doc

    monkeypatch.setattr(doc, "_today", lambda: today)
    checks = {c["name"]: c for c in cli("doctor", "--json").json()["checks"]}
    return checks["catalog"]


def test_doctor_warns_when_the_shipped_catalog_is_older_than_six_months(cli, monkeypatch):
    as_of = dt.date.fromisoformat(cli("catalog", "stats", "--json").json()["as_of"])
    later = as_of + dt.timedelta(days=200)  # more than six calendar months after the newest fact
    c = _doctor_catalog_check(cli, monkeypatch, later)
    assert c["status"] == "warn"
    assert f"as of {as_of}" in c["detail"] and "older than 6 months" in c["detail"]
    assert "pip install -U vlmselect" in c["hint"] and "--catalog" in c["hint"]


def test_doctor_is_quiet_about_a_fresh_catalog(cli, monkeypatch):
    as_of = dt.date.fromisoformat(cli("catalog", "stats", "--json").json()["as_of"])
    c = _doctor_catalog_check(cli, monkeypatch, as_of + dt.timedelta(days=30))
    assert c["status"] == "ok" and "30 days old" in c["detail"]


def test_a_user_catalog_does_not_make_the_shipped_one_fresh(cli, monkeypatch, tmp_path):
    """Doctor judges what ships: a user's own newer file must not hide an old package."""
    extra = tmp_path / "probe-models.yaml"
    extra.write_text(EXTRA)
    as_of = dt.date.fromisoformat(cli("catalog", "stats", "--json").json()["as_of"])
    import vlmselect.doctor as doc

    monkeypatch.setattr(doc, "_today", lambda: as_of + dt.timedelta(days=400))
    checks = {c["name"]: c for c in cli("--catalog", str(extra), "doctor", "--json").json()["checks"]}
    assert checks["catalog"]["status"] == "warn"


def test_show_json_prints_architecture_and_parameter_split(cli):
    # Qwen2-VL-7B-Instruct config.json: 28 layers, 28 heads, 4 KV heads, hidden 3584, vocab 152064;
    # 8.29B parameters of which the ViT + merger are ~0.675B.
    d = cli("show", "qwen2-vl-7b", "--json").json()
    assert d["arch"]["layers"] == 28 and d["arch"]["kv_heads"] == 4 and d["arch"]["heads"] == 28
    assert d["arch"]["hidden"] == 3584 and d["arch"]["vocab"] == 152064 and d["arch"]["head_dim"] == 128
    assert d["params"]["total_b"] == pytest.approx(8.29)
    assert d["params"]["text_b"] + d["params"]["vision_b"] == pytest.approx(8.29, abs=0.01)
    assert d["context_max"] == 32768 and d["image_tokens"]["rule"] == "qwen2-vl"
    assert d["catalog_file"].endswith("models.yaml")


def test_show_json_leaves_no_catalog_field_out(cli, catalog):
    for mid in ("gemma-3-27b", "idefics2-8b", "gpt-4o"):
        m = catalog.model(mid)
        d = cli("show", mid, "--json").json()
        for key in m.facts:
            assert key in d or key in ("runners", "benchmarks"), (mid, key)
        if m.kind == "local":
            assert d["artifacts"] == m.facts.get("runners", {})
        assert set(d["benchmark_details"]) == set(m.facts.get("benchmarks", {}))
    api = cli("show", "gpt-4o", "--json").json()
    assert api["price"]["input_per_mtok"] == api["price_per_mtok"]["input"]
