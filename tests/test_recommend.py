"""recommend: the seed's rows as of 2024-11-01, today's picks, placements, and bad input."""

from __future__ import annotations

import pytest

SEED = ["--gpu", "RTX 3090", "--as-of", "2024-11-01"]


def rec(cli, *args):
    r = cli("recommend", *args, "--json")
    assert r.code == 0, r.err
    return r.json()


def local_ids(d, n=3):
    return [x["id"] for x in d["local"][:n]]


def api_ids(d, n=3):
    return [x["id"] for x in d["api"][:n]]


# ---------------------------------------------------------------- the seed's rows (Selection by Use Case, Summary)


def top_tie(d, kind):
    """The ids in the first statistical tie group (or just the first pick when it stands alone)."""
    rows = d[kind]
    if not rows or not rows[0]["tie"]:
        return [x["id"] for x in rows[:1]]
    low0 = rows[0]["quality_interval"][0]
    return [x["id"] for x in rows if x["tie"] and abs(x["quality_interval"][0] - low0) < 0.05]


@pytest.mark.parametrize("task", ["ocr", "invoice", "screenshot"])
def test_seed_documents_pick_qwen2_vl_7b(cli, task):
    d = rec(cli, "--task", task, *SEED)
    assert "qwen2-vl-7b" in local_ids(d)  # the seed's pick stays within the top 3
    # Seed: GPT-4o (Claude 3.5 for screenshots), "all within a few points". With the evidence of
    # 2024 (vendor DocVQA numbers within 2.4 points, no independent page-level run before 2025)
    # the 2024 APIs are not statistically apart: GPT-4o's interval overlaps the leader's.
    q = rec(cli, "--task", task, *SEED, "--priority", "quality", "--api", "--top", "10")
    lead = q["api"][0]
    gpt4o = next(x for x in q["api"] if x["id"] == "gpt-4o")
    assert gpt4o["quality_interval"][1] >= lead["quality_interval"][0]


def test_seed_academic_pdfs_pick_nougat(cli):
    # The seed picks Nougat. The seed was not backed by evidence: the catalog holds no Nougat score
    # on any document benchmark, and issue 9 reports it near last on OmniDocBench, while Qwen2-VL-7B
    # publishes DocVQA 94.5. So Nougat is offered on its family/size prior ("no evidence"), not first.
    d = rec(cli, "--task", "academic-pdf", *SEED, "--top", "10")
    assert "nougat" in local_ids(d, 10)
    x = next(x for x in d["local"] if x["id"] == "nougat")
    assert x["quality_basis"] == "prior" and "no evidence" in x["why"]


def test_seed_grounding_qwen2_vl_and_no_api(cli):
    d = rec(cli, "--task", "grounding", *SEED, "--top", "10")
    assert "qwen2-vl-7b" in local_ids(d, 5)
    assert d["api"] == []  # no 2024 API returned boxes
    assert all(x["reason"] for x in d["excluded"] if x["id"] in ("gpt-4o", "claude-3.5-sonnet", "gemini-1.5-pro"))


def test_seed_general_fast_and_good_is_qwen2_vl_7b(cli):
    d = rec(cli, "--task", "general", *SEED)
    assert "qwen2-vl-7b" in local_ids(d)


def test_seed_cheapest_api_is_gemini_flash(cli):
    d = rec(cli, "--task", "general", *SEED, "--priority", "cost", "--api")
    assert d["api"][0]["id"] == "gemini-1.5-flash"
    assert d["local"] == []


def test_seed_best_quality_api(cli):
    d = rec(cli, "--task", "general", *SEED, "--priority", "quality", "--api")
    assert set(api_ids(d, 2)) & {"gpt-4o", "claude-3.5-sonnet"}


def test_seed_video_api_is_gemini_native_video(cli):
    # The seed picks Gemini (native video). Gemini 1.5 Pro leads the Video-MME authors' own runs
    # (75.0 vs 71.9 for GPT-4o, arXiv 2405.21075) and comes first. Gemini 1.5 Flash has no video
    # number dated before 2024-11 in the catalog, so GPT-4o's independent 71.9 (sent as frames),
    # which beats every local model's self-reported Video-MME, may sit between them: the seed's
    # pick stays within the top 3.
    d = rec(cli, "--task", "video", *SEED, "--priority", "quality")
    top = api_ids(d, 3)
    assert top[0] == "gemini-1.5-pro" and "gemini-1.5-flash" in top
    for x in d["api"]:
        assert ("native video input" in x["why"]) == x["id"].startswith("gemini"), x["why"]
        assert ("frames" in x["why"]) != x["id"].startswith("gemini"), x["why"]


def test_seed_action_recognition_llava_video_if_it_fits(cli):
    # The seed picks LLaVA-Video-7B. It fits and is offered, but the seed was not backed by
    # evidence: the catalog has no Video-MME number for it, so it stands on its family/size
    # prior (wide), while Qwen2-VL-7B and MiniCPM-V 2.6 publish Video-MME 63.3 and 60.9 (vendor),
    # and Qwen2-VL-72B 71.2. It is also the lowest catalog model on the Video-MME-v2 team's table
    # (7.2, boards.yaml), but that board is dated 2026-04, after --as-of, so it is not used here.
    # So: offered, not in the top 3.
    d = rec(cli, "--task", "action-recognition", *SEED, "--top", "10")
    assert "llava-video-7b" in local_ids(d, 10)
    x = next(x for x in d["local"] if x["id"] == "llava-video-7b")
    assert x["quality_basis"] == "prior" and "no evidence" in x["why"]


def test_seed_72b_does_not_fit_one_3090(cli):
    d = rec(cli, "--task", "general", *SEED, "--top", "40")
    big = [x for x in d["local"] if x["id"] == "qwen2-vl-72b"]
    assert big, "the 72B should still be offered, honestly placed"
    p = big[0]
    # balanced takes the faster 4-bit placement for an offloaded model: still more than the 24 GB card
    assert p["mode"] == "offload" and not p["fits"] and p["vram_gib"] > 24
    assert p["tokens_per_s"] < 5 and p["warnings"]
    # The seed's "2x24GB" needs each card to hold half the 4-bit weights plus its own CUDA context and
    # buffers: the why says how many such cards, counted that way.
    assert "such GPUs" in p["why"]
    # In November 2024 llama.cpp could not yet run Qwen2-VL (PR #10361, merged December 2024), so the
    # 2024 world has no GGUF split for it; today's runners split it over two 3090s.
    two = rec(cli, "--task", "general", "--gpu", "RTX 3090", "--gpu-count", "2", "--priority", "quality", "--top", "60")
    p2 = [x for x in two["local"] if x["id"] == "qwen2-vl-72b"][0]
    assert p2["mode"] == "multi-gpu" and p2["gpus_used"] == 2 and p2["fits"]
    old = rec(cli, "--task", "general", *SEED, "--gpu-count", "2", "--runner", "llama.cpp", "--top", "60")
    ex = {e["id"]: e["reason"] for e in old["excluded"]}
    assert "llama.cpp supports qwen2-vl from 2024-12-14" in ex["qwen2-vl-72b"]


# ---------------------------------------------------------------- today


@pytest.mark.parametrize("task", ["ocr", "general", "grounding", "charts", "video"])
def test_today_top_local_pick_is_a_2025_model(cli, task):
    d = rec(cli, "--task", task, "--gpu", "RTX 3090")
    assert d["local"][0]["released"] >= "2025-01-01", d["local"][0]
    assert all(x["status"] != "retired" for x in d["api"])


def test_no_retired_api_offered_today(cli, catalog):
    d = rec(cli, "--task", "general", "--api", "--top", "50")
    offered = {x["id"] for x in d["api"]}
    assert "claude-3.5-sonnet" not in offered and "gemini-1.5-pro" not in offered
    reasons = {x["id"]: x["reason"] for x in d["excluded"]}
    assert "retired" in reasons["claude-3.5-sonnet"]


def test_capability_filter_never_ranks_an_incapable_model(cli, catalog):
    for task in catalog.tasks.values():
        d = rec(cli, "--task", task.id, "--gpu", "RTX 3090", "--top", "100")
        for x in d["local"]:
            m = catalog.models[x["id"]]
            assert all(m.cap(c) >= n for c, n in task.needs.items()), (task.id, m.id)
        for x in d["api"]:
            a = catalog.apis[x["id"]]
            assert all(a.cap(c) >= n for c, n in task.needs.items()), (task.id, a.id)


def test_every_task_and_priority_answers(cli, catalog):
    for task in catalog.tasks:
        for prio in ("balanced", "quality", "speed", "cost"):
            d = rec(cli, "--task", task, "--priority", prio, "--gpu", "RTX 4090")
            assert d["task"] == task and d["priority"] == prio
            assert d["local"] or d["api"]


def test_task_aliases(cli):
    assert rec(cli, "--task", "pdf", "--gpu", "3090")["task"] == "academic-pdf"
    assert rec(cli, "--task", "boxes", "--gpu", "3090")["task"] == "grounding"


# ---------------------------------------------------------------- placements on other machines


def test_small_gpu_places_within_memory(cli):
    d = rec(cli, "--task", "ocr", "--gpu", "RTX 3060 12GB", "--local", "--top", "20")
    for x in d["local"]:
        if x["mode"] == "gpu":
            # The preset's 12 GiB less the 0.5 GiB reserve holds the estimate and its margin.
            assert x["vram_gib"] <= 12.0 - 0.5 + 0.05
            pl = x["placement"]
            assert pl["gpu_need_gib"][0] <= pl["gpu_usable_gib"][0] == 11.5
            assert x["headroom_gib"] >= 0


def test_cpu_only_gives_cpu_placements_and_apis(cli):
    # --ram: without it the machine's own available RAM decides, and a busy test machine may have
    # too little for any model (then none is offered, rightly).
    d = rec(cli, "--task", "ocr", "--cpu-only", "--ram", "32")
    assert d["hardware"]["gpus"] == [] and d["hardware"]["source"] == "manual"
    assert d["local"] and all(x["mode"] == "cpu" for x in d["local"])
    assert all(x["tokens_per_s"] < 60 for x in d["local"])
    assert d["api"]


def test_old_card_gets_no_bf16_and_no_vllm(cli):
    d = rec(cli, "--task", "general", "--gpu", "GTX 1080 Ti", "--top", "30")
    assert all(x["runner"] != "vllm" for x in d["local"])
    assert all(x["quant"] != "bf16" for x in d["local"])


def test_multi_gpu_count_reported(cli):
    d = rec(cli, "--task", "ocr", "--gpu", "3090", "--gpu-count", "2")
    assert len(d["hardware"]["gpus"]) == 2


def test_manual_vram(cli):
    d = rec(cli, "--task", "ocr", "--vram", "8", "--local")
    assert d["hardware"]["source"] == "manual" and d["hardware"]["gpus"][0]["vram_total_gib"] == 8


def test_max_cost_filters_apis(cli):
    d = rec(cli, "--task", "general", "--api", "--max-cost-per-image", "0.001", "--top", "50")
    assert d["api"] and all(x["cost_per_image_usd"] <= 0.001 for x in d["api"])


def test_commercial_excludes_non_commercial_licences(cli, catalog):
    d = rec(cli, "--task", "academic-pdf", "--gpu", "3090", "--commercial", "--local", "--top", "50")
    assert "nougat" not in {x["id"] for x in d["local"]}  # CC-BY-NC


def test_json_shape(cli):
    d = rec(cli, "--task", "ocr", "--gpu", "3090")
    assert set(d) >= {"task", "priority", "as_of", "hardware", "local", "api", "excluded"}
    assert set(d["hardware"]) >= {"source", "gpus", "ram_total_gib"}
    g = d["hardware"]["gpus"][0]
    assert set(g) >= {"name", "vram_total_gib", "vram_free_gib", "bandwidth_gbps", "compute_capability"}
    x = d["local"][0]
    assert set(x) >= {"id", "name", "quant", "runner", "mode", "gpus_used", "vram_gib", "fits", "headroom_gib",
                      "tokens_per_s", "seconds_per_image", "score", "why", "command"}
    a = d["api"][0]
    assert set(a) >= {"id", "name", "provider", "cost_per_image_usd", "status", "why"}
    assert [y["score"] for y in d["local"]] == sorted((y["score"] for y in d["local"]), reverse=True)


def test_commands_are_runnable_shapes(cli):
    d = rec(cli, "--task", "general", "--gpu", "3090", "--top", "30")
    for x in d["local"]:
        cmd = x["command"]
        words = [w for w in cmd.split() if "=" not in w or w.startswith("-")]  # after any VAR=value prefix
        assert words[0] in ("ollama", "vllm", "llama-server", "vlmselect"), cmd
        if x["runner"] == "ollama":  # the window the estimate assumed goes to the server (runtimes.command_env)
            steps = x["next_steps"]
            assert steps[0].startswith("OLLAMA_CONTEXT_LENGTH=") and steps[0].endswith("ollama serve"), steps
            assert steps[1].startswith("ollama run "), steps


def test_table_output_has_next_step(cli):
    r = cli("recommend", "--task", "ocr", "--gpu", "3090")
    assert r.code == 0 and "Next step:" in r.out and "Local models" in r.out and "Hosted APIs" in r.out
    r = cli("recommend", "--task", "ocr", "--gpu", "3090", "--explain")
    assert "Basis of each estimate" in r.out and "Excluded" in r.out


# ---------------------------------------------------------------- bad input: exit 2, a message, no traceback


@pytest.mark.parametrize("args,needle", [
    (["--task", "no-such-task"], "unknown task"),
    (["--task", "orc"], "did you mean ocr"),
    (["--task", "ocr", "--priority", "fastest"], "unknown priority"),
    (["--task", "ocr", "--resolution", "big"], "--resolution"),
    (["--task", "ocr", "--resolution", "0x100"], "--resolution"),
    (["--task", "ocr", "--as-of", "2024-13-45"], "--as-of"),
    (["--task", "ocr", "--gpu", "Nonexistent 9999"], "unknown GPU"),
    (["--task", "ocr", "--vram", "-3"], "--vram"),
    (["--task", "ocr", "--gpu-count", "0"], "--gpu-count"),
    (["--task", "ocr", "--ram", "lots"], "--ram"),
    (["--task", "ocr", "--runner", "tgi"], "unknown runner"),
    (["--task", "ocr", "--catalog", "/no/such/file.yaml"], "catalog file not found"),
    (["--task", "ocr", "--top", "0"], "--top"),
    (["--task", "ocr", "--local", "--api"], "exclude each other"),
    ([], "--task is required"),
])
def test_bad_input_exits_2(cli, args, needle):
    r = cli("recommend", *args)
    assert r.code == 2, (args, r.out, r.err)
    assert needle in r.err
    assert "Traceback" not in r.err + r.out


def test_measured_speed_from_a_passed_smoke_test_is_used(catalog, isolated_user):
    import json as _json

    from vlmselect.hardware.types import GpuInfo, HardwareProfile
    from vlmselect.memory import Workload
    from vlmselect.recommend import Request, recommend
    from vlmselect.smoke import measured_speeds

    d = isolated_user / "data" / "smoke"
    d.mkdir(parents=True)
    rec = {"id": "llava-1.6-7b", "runner": "ollama", "quant": "q4_0", "passed": True, "tokens_per_s": 99.0,
           "gpu": "NVIDIA GeForce RTX 3090", "time": "2026-11-20T10:00:00+00:00"}
    (d / "20261120T100000Z-llava.json").write_text(_json.dumps(rec))
    (d / "20261121T100000Z-llava.json").write_text(_json.dumps(rec | {"passed": False, "tokens_per_s": 5.0}))
    seen = measured_speeds("NVIDIA GeForce RTX 3090")
    assert seen[("llava-1.6-7b", "ollama", "q4_0")]["tokens_per_s"] == 99.0  # the failed run is ignored
    assert measured_speeds("NVIDIA GeForce RTX 4090") == {}

    g = GpuInfo(index=0, name="NVIDIA GeForce RTX 3090", vram_total_gib=24.0, vram_free_gib=23.0,
                bandwidth_gbps=935.8, compute_capability="8.6", fp16_tflops=142.7, bf16=True)
    hw = HardwareProfile(source="nvml", gpus=(g,), ram_total_gib=64.0, ram_available_gib=60.0, cpu_cores=8)
    out = recommend(catalog, hw, Request(task=catalog.task("general"), workload=Workload(), runner="ollama",
                                         top=50, measured=seen))
    pick = [p for p in out.local if p.model.id == "llava-1.6-7b"][0]
    assert pick.speed.tokens_per_s == 99.0 and "measured" in pick.why
