"""plan and bench against the real vLLM (CPU build, its own venv; scripts/setup_engines.sh):

- every `vllm serve` line that `plan` prints, single- and multi-node, accepted by vLLM's own parser;
- plan's KV arithmetic (tokens in the pool, requests it holds) against what vLLM itself logs at start-up,
  `KV cache size: N tokens` and `Maximum concurrency for L tokens per request: Xx`, for two shapes;
- `bench` driving the real server serving the tiny LLaVA with the test card.

On the CPU build the pool is VLLM_CPU_KVCACHE_SPACE GiB rather than 0.9 x VRAM - weights; the arithmetic
from pool to tokens to requests is the same one plan applies to a GPU's pool. Servers bind 127.0.0.1 and
are always stopped.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import engines
import pytest
from tiny_llava import build_tiny_llava
from tiny_vllm import build_tiny_llama, vllm_llava

from vlmselect.memory import kv_cache_bytes
from vlmselect.plan import kv_capacity
from vlmselect.runners import openai_compat, vllm
from vlmselect.runners.server import free_port

pytestmark = pytest.mark.slow

KV_SPACE_GIB = 1
CTX = 256
_KV = re.compile(r"KV cache size:\s*([\d,]+) tokens")
_CONC = re.compile(r"Maximum concurrency for ([\d,]+) tokens per request:\s*([\d.]+)x")


def _argcheck(lines: list[list[str]]) -> list[dict]:
    script = Path(__file__).with_name("vllm_argcheck.py")
    res = subprocess.run([engines.vllm_python(), str(script)], input=json.dumps(lines), capture_output=True, text=True,
                         timeout=600, env={"PATH": "/usr/bin:/bin", "VLLM_TARGET_DEVICE": "cpu", "HF_HUB_OFFLINE": "1",
                                           "VLLM_NO_USAGE_STATS": "1"})
    out = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    assert len(out) == len(lines), res.stderr[-3000:]
    return out


def test_every_serve_line_plan_prints_passes_vllms_parser(cli, tmp_path):
    lines = []
    for args in (("--task", "ocr", "--gpu", "h100", "--gpu-count", "8", "--images", "200000", "--within", "24h"),
                 ("--model", "qwen2.5-vl-7b", "--gpu", "3090", "--gpu-count", "2", "--rate", "5"),
                 ("--model", "qwen2-vl-72b", "--gpu", "a100 80gb", "--gpu-count", "2", "--nodes", "2", "--rate", "1"),
                 ("--model", "qwen2-vl-72b", "--gpu", "4090", "--gpu-count", "2", "--nodes", "4", "--rate", "1"),
                 ("--task", "charts", "--gpu", "4090", "--images", "1000", "--within", "1h")):
        r = cli("plan", *args, "--json")
        assert r.code == 0, r.err
        for p in r.json()["plans"]:
            lines += p["deploy"]["serve"]
    assert any("--pipeline-parallel-size" in ln for ln in lines), "a multi-node plan is among them"
    # shlex drops the trailing '# on the head node' comments; env assignments precede the program.
    argvs = [shlex.split(ln, comments=True) for ln in lines]
    argvs = [a[a.index("vllm"):] for a in argvs]
    # vLLM resolves the model while it turns arguments into engine arguments, and this machine is
    # offline: a local tiny checkpoint stands in for the repository id (which the catalog schema
    # validates); every flag and value is vLLM's to judge.
    local = str(build_tiny_llava(tmp_path / "tiny"))
    argvs = [a[:2] + [local] + a[3:] for a in argvs]
    bad = [(ln, res) for ln, res in zip(lines, _argcheck(argvs)) if not res["ok"]]
    assert not bad, bad


@pytest.fixture
def vllm_env(monkeypatch):
    b = engines.vllm()
    monkeypatch.setenv("VLLM_TARGET_DEVICE", "cpu")
    return b


def _serve(binary: str, model: Path, extra: tuple[str, ...] = ()):
    port = free_port()
    srv = vllm.start(binary, model, ctx=CTX, port=port, kv_space_gib=KV_SPACE_GIB,
                     extra=("--enforce-eager", "--dtype", "bfloat16", *extra))
    return srv, f"http://127.0.0.1:{port}"


def _check_capacity(log: str, spec) -> None:
    kv, conc = _KV.search(log), _CONC.search(log)
    assert kv and conc, log[-3000:]
    tokens, requests = kv_capacity(KV_SPACE_GIB * 2**30, kv_cache_bytes(spec, 1), int(conc.group(1).replace(",", "")))
    assert tokens == int(kv.group(1).replace(",", ""))
    assert requests == pytest.approx(float(conc.group(2)), abs=0.01)


def test_plan_kv_capacity_and_bench_on_vllm_serving_the_tiny_llava(cli, tmp_path, vllm_env):
    from vlmselect.catalog import Arch, ModelSpec

    model = vllm_llava(build_tiny_llava(tmp_path / "src"), tmp_path / "llava")
    # The tiny LLaVA's language model: 2 layers, 4 heads, 2 KV heads, hidden 128 (tests/tiny_llava.py).
    spec = ModelSpec(id="tiny", name="tiny", family="llava", released=None, license="", hf_repo="", trust_remote_code=False,
                     params_total_b=0.001, arch=Arch(layers=2, kv_heads=2, head_dim=32, hidden=128, heads=4),
                     context_max=CTX, image_tokens={"rule": "fixed", "tokens": 16}, capabilities={}, sources=())
    srv, url = _serve(vllm_env, model, ("--limit-mm-per-prompt", '{"image": 1}'))
    with srv:
        openai_compat.wait_ready(url, vllm.READY_TIMEOUT_S, alive=srv.alive, what="vllm")
        r = cli("bench", "--server", url, "--concurrency", "1,2", "--requests", "2", "--max-new-tokens", "4", "--json")
        log = srv.log()
    _check_capacity(log, spec)
    assert r.code == 0, r.err
    d = r.json()
    assert [lv["concurrency"] for lv in d["levels"]] == [1, 2]
    for lv in d["levels"]:
        assert lv["ok"] == 2 and lv["images_per_s"] > 0 and lv["latency_p50_s"] > 0 and lv["ttft_p50_s"] is not None
        assert lv["passed"] == 0  # random weights cannot read the card
    assert Path(d["record"]).is_file()


def test_plan_kv_capacity_matches_vllm_for_multi_head_attention(tmp_path, vllm_env):
    from engine_reports import spec_for
    from tiny_gguf import TextShape

    path = build_tiny_llama(tmp_path / "llama", heads=4, kv_heads=4, hidden=128)
    srv, url = _serve(vllm_env, path, ("--limit-mm-per-prompt", "{}"))
    with srv:
        openai_compat.wait_ready(url, vllm.READY_TIMEOUT_S, alive=srv.alive, what="vllm")
        log = srv.log()
    _check_capacity(log, spec_for(TextShape(layers=2, hidden=128, heads=4, kv_heads=4, head_dim=32)))
