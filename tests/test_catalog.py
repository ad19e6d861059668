"""The shipped catalog validates and is sourced; broken catalogs are reported with file and line."""

from __future__ import annotations

import textwrap

import pytest

from vlmselect.catalog import CAPABILITIES, load_catalog, validate_path
from vlmselect.errors import UsageError

SEED_LOCAL = ["qwen2-vl-7b", "qwen2-vl-72b", "llava-1.6-7b", "llava-1.6-34b", "phi-3-vision", "internvl2-8b",
              "internvl2-26b", "minicpm-v-2.6", "idefics2-8b", "docowl-1.5", "nougat", "llava-video-7b"]
SEED_API = ["gpt-4o", "gpt-4o-mini", "claude-3.5-sonnet", "claude-3-haiku", "gemini-1.5-pro", "gemini-1.5-flash"]
TASKS = ["general", "ocr", "invoice", "screenshot", "academic-pdf", "charts", "vqa", "reasoning", "grounding",
         "multi-image", "video", "action-recognition", "long-video"]


def test_shipped_catalog_has_the_seed_models_tasks_and_gpus(catalog):
    assert set(SEED_LOCAL) <= set(catalog.models)
    assert set(SEED_API) <= set(catalog.apis)
    assert set(TASKS) <= set(catalog.tasks)
    # The seed's GPUs by their catalog ids (an `or len(gpus) > 20` here once hid the wrong id a100-80gb-sxm).
    assert {"rtx-3090", "rtx-4090", "a100-80gb", "h100-sxm"} <= set(catalog.gpus)


def test_every_entry_has_sources_and_every_score_its_own(catalog):
    for m in [*catalog.models.values(), *catalog.apis.values()]:
        assert m.sources and all(s.startswith("http") for s in m.sources), m.id
        assert set(m.benchmarks) == set(m.benchmark_sources), m.id
        assert all(u.startswith("http") for u in m.benchmark_sources.values()), m.id
    for g in catalog.gpus.values():
        assert g.source.startswith("http"), g.id
    for a in catalog.apis.values():
        assert a.price_source.startswith("http") and a.price_as_of is not None, a.id


def test_catalog_breadth_current_models(catalog):
    recent = [m for m in catalog.models.values() if m.released.year >= 2025]
    assert len(recent) >= 25
    assert len(catalog.apis) >= 14
    families = {m.family for m in recent}
    for fam in ("qwen2.5-vl", "qwen3-vl", "gemma3", "internvl3"):
        assert any(fam.replace("-", "").replace(".", "") in f.replace("-", "").replace(".", "") for f in families), fam


def test_capabilities_complete_and_on_scale(catalog):
    for m in [*catalog.models.values(), *catalog.apis.values()]:
        assert set(CAPABILITIES) <= set(m.capabilities), m.id
        assert all(0 <= v <= 3 for v in m.capabilities.values()), m.id


def test_moe_models_carry_total_and_active(catalog):
    moe = [m for m in catalog.models.values() if m.is_moe]
    assert len(moe) >= 3
    for m in moe:
        assert 0 < m.params_active_b < m.params_total_b


def test_seed_claims_kept(catalog):
    m = catalog.models["qwen2-vl-72b"]
    assert m.seed["vram_q4_gb"] == 24  # the seed's (wrong) claim, kept verbatim so tests can disagree with it
    assert catalog.apis["gemini-1.5-flash"].seed["cost_per_image_usd"] == 0.001


def test_lookup_by_display_name_and_alias(catalog):
    assert catalog.model("Qwen2-VL 7B").id == "qwen2-vl-7b"
    assert catalog.model("qwen2-vl-7b").id == "qwen2-vl-7b"
    assert catalog.model("GPT-4o").id == "gpt-4o"
    assert catalog.gpu("3090").id == catalog.gpu("RTX 3090").id == catalog.gpu("rtx 3090").id
    with pytest.raises(UsageError) as exc:
        catalog.model("qwen2-vl-8b")
    assert "qwen2-vl-7b" in exc.value.hint


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


GOOD_MODEL = """\
- id: tiny-vlm
  name: Tiny VLM
  family: tiny
  released: 2025-01-01
  license: apache-2.0
  hf_repo: example/tiny-vlm
  trust_remote_code: false
  params: {total_b: 1.0}
  arch: {layers: 4, kv_heads: 2, head_dim: 64}
  context_max: 4096
  image_tokens: {rule: fixed, tokens: 64}
  capabilities: {single_image: 2, multi_image: 0, ocr: 3, documents: 1, charts: 0, grounding: 0, video: 0}
  sources: [https://example.org/tiny]
"""


def test_yaml_syntax_error_names_file_and_line(tmp_path, cli):
    p = write(tmp_path, "models.yaml", "- id: a\n  name: [unclosed\n")
    r = cli("catalog", "validate", str(p))
    assert r.code == 2
    assert f"{p}:" in r.err and "YAML syntax error" in r.err
    assert "Traceback" not in r.err


def test_all_problems_reported_at_once_with_lines(tmp_path):
    bad = GOOD_MODEL.replace("ocr: 3", "ocr: 5").replace("rule: fixed", "rule: nonsense")
    bad += GOOD_MODEL.replace("tiny-vlm", "second").replace("  sources: [https://example.org/tiny]\n", "")
    p = write(tmp_path, "models.yaml", bad)
    count, problems = validate_path(p)
    text = "\n".join(problems)
    assert count == 0
    assert f"{p}:12: tiny-vlm capabilities.ocr: must be 0, 1, 2 or 3, got 5" in text
    assert f"{p}:11: tiny-vlm image_tokens.rule: unknown rule 'nonsense'" in text
    assert f"{p}:14: second sources: is required" in text
    assert len(problems) == 3


def test_benchmark_without_source_and_duplicate_id(tmp_path):
    text = GOOD_MODEL + "  benchmarks: {ocrbench: {score: 800}}\n" + GOOD_MODEL
    p = write(tmp_path, "models.yaml", text)
    _, problems = validate_path(p)
    assert any("benchmarks.ocrbench.source: is required" in x for x in problems)
    assert any("duplicate id" in x for x in problems)


def test_broken_overlay_exits_2_via_any_command(tmp_path, cli):
    p = write(tmp_path, "models.yaml", GOOD_MODEL.replace("layers: 4", "layers: -4"))
    r = cli("--catalog", str(p), "models")
    assert r.code == 2
    assert "arch.layers: must be positive, got -4" in r.err and "tiny-vlm" in r.err
    r = cli("recommend", "--task", "ocr", "--catalog", str(p), "--gpu", "3090")
    assert r.code == 2


def test_overlay_adds_and_replaces_by_id(tmp_path):
    extra = GOOD_MODEL + GOOD_MODEL.replace("tiny-vlm", "qwen2-vl-7b").replace("Tiny VLM", "Qwen2-VL 7B (mine)")
    p = write(tmp_path, "models.yaml", extra)
    cat = load_catalog([p], include_user=False)
    assert "tiny-vlm" in cat.models
    assert cat.models["qwen2-vl-7b"].name == "Qwen2-VL 7B (mine)"


def test_user_config_dir_overlays(isolated_user):
    d = isolated_user / "config"
    d.mkdir()
    (d / "my-models.yaml").write_text(GOOD_MODEL)
    cat = load_catalog()
    assert "tiny-vlm" in cat.models


def test_missing_catalog_path_is_usage_error(cli, tmp_path):
    r = cli("--catalog", str(tmp_path / "nope.yaml"), "models")
    assert r.code == 2 and "catalog file not found" in r.err


def test_validate_ok(cli, tmp_path):
    p = write(tmp_path, "models.yaml", GOOD_MODEL)
    r = cli("catalog", "validate", str(p))
    assert r.code == 0 and "1 entries, all valid" in r.out


def test_shipped_catalog_files_validate(cli):
    from vlmselect.catalog import shipped_dir

    r = cli("catalog", "validate", str(shipped_dir()))
    assert r.code == 0, r.err


def test_validated_files_are_cached_and_the_cache_follows_edits(tmp_path, monkeypatch):
    import os

    monkeypatch.setenv("VLMSELECT_CACHE_DIR", str(tmp_path / "cache"))  # its own, not the session's
    p = write(tmp_path, "models.yaml", GOOD_MODEL)
    first = load_catalog([p], include_user=False)
    assert list((tmp_path / "cache").glob("catalog-models-*.json"))
    again = load_catalog([p], include_user=False)
    assert again.models["tiny-vlm"] == first.models["tiny-vlm"]  # same facts from the cache
    p.write_text(GOOD_MODEL.replace("layers: 4", "layers: -4"))
    os.utime(p, ns=(p.stat().st_mtime_ns + 10**9, p.stat().st_mtime_ns + 10**9))
    with pytest.raises(UsageError):  # an edited file is validated again, never served stale
        load_catalog([p], include_user=False)
