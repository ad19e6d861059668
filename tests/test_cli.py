"""The CLI through its real entry points: help, exit codes, JSON shapes, start-up weight."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from probe import RUN_AS_MAIN

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "bitsandbytes", "huggingface_hub", "ollama", "httpx", "PIL")
COMMANDS = ["recommend", "doctor", "pull", "smoke", "models", "show", "estimate", "catalog", "plan", "bench"]


def run(*args, env=None, cwd=None):
    e = dict(os.environ, NO_COLOR="1", COLUMNS="200", **(env or {}))
    return subprocess.run([sys.executable, "-m", "vlmselect", *args], capture_output=True, text=True,
                          env=e, cwd=cwd, timeout=120)


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_pages(cli, cmd):
    r = cli(cmd, "--help")
    assert r.code == 0 and "Usage" in r.out


def test_python_dash_m_and_version():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("vlmselect ")


def test_startup_path_imports_nothing_heavy():
    code = ("import sys; sys.argv=['vlmselect','recommend','--task','ocr','--gpu','RTX 3090','--json']\n" + RUN_AS_MAIN
            + f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    heavy = [ln for ln in r.stderr.splitlines() if ln.startswith("HEAVY=")][0]
    assert heavy == "HEAVY=", heavy
    assert json.loads(r.stdout)["task"] == "ocr"


@pytest.mark.parametrize("cmd", [["models"], ["doctor"], ["show", "qwen2-vl-7b"], ["estimate", "qwen2-vl-7b"]])
def test_other_commands_stay_light(cmd):
    code = ("import sys; sys.argv=['vlmselect', *sys.argv[1:]]\n" + RUN_AS_MAIN
            + f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True, timeout=120)
    assert "HEAVY=\n" in r.stderr + "\n", r.stderr[-500:]


def test_models_json_lists_the_seed_ids_with_vram_and_sources(cli):
    d = cli("models", "--json").json()
    ids = {m["id"] for m in d}
    seed = {"qwen2-vl-7b", "qwen2-vl-72b", "llava-1.6-7b", "llava-1.6-34b", "phi-3-vision", "internvl2-8b",
            "internvl2-26b", "minicpm-v-2.6", "idefics2-8b", "docowl-1.5", "nougat", "llava-video-7b",
            "gpt-4o", "gpt-4o-mini", "claude-3.5-sonnet", "claude-3-haiku", "gemini-1.5-pro", "gemini-1.5-flash"}
    assert seed <= ids
    for m in d:
        assert m["sources"], m["id"]
        if m["kind"] == "local":
            v = m["vram_gib"]
            assert v["fp16"] > v["q4"] > 0, m["id"]
            assert set(m) >= {"family", "released", "params_b", "capabilities", "benchmarks"}
        else:
            assert m["provider"] and m["price_per_mtok"] and "status" in m


def test_models_for_a_task_puts_capable_models_first(cli, catalog):
    d = cli("models", "--task", "ocr", "--json").json()
    local = [m for m in d if m["kind"] == "local"]
    assert all(m["capabilities"]["ocr"] >= 1 for m in d)
    order = [m["id"] for m in local]
    specialists = {"paddleocr-vl", "dots-ocr", "deepseek-ocr", "deepseek-ocr-2", "olmocr-2-7b", "hunyuan-ocr"}
    assert set(order[:8]) & specialists
    # The OmniDocBench maintainers' v1.5 runs (2025-12): PaddleOCR-VL 92.86 first, Qwen3-VL-235B
    # 89.15 second of the 8 catalog models, ahead of Qwen2.5-VL-72B 87.02 and InternVL3.5-241B 82.67.
    assert order.index("paddleocr-vl") < order.index("qwen3-vl-235b-a22b") < order.index("internvl3.5-241b-a28b")
    assert order.index("qwen3-vl-235b-a22b") < 12 and order.index("paddleocr-vl") < order.index("qwen2.5-vl-72b")


def test_show_and_unknown_model(cli):
    r = cli("show", "Qwen2-VL 7B")
    assert r.code == 0 and "https://" in r.out and "sources" in r.out
    r = cli("show", "qwen2-vl-8b")
    assert r.code == 2 and "did you mean" in r.err and "qwen2-vl-7b" in r.err


def test_estimate_72b_q4_over_40_gib(cli):
    d = cli("estimate", "qwen2-vl-72b", "--quant", "q4_k_m", "--json").json()
    assert d["total_gib"] > 40 and set(d["parts_gib"]) == {"weights_text", "weights_vision", "kv_cache", "compute", "overhead"}
    assert d["image_tokens"] > 0 and d["context"] > 4096


def test_estimate_qwen2_vl_7b_speed_near_qwens_own_measurement(cli):
    # QwenLM/Qwen2-VL README, A100 80GB, transformers, BF16, input 1, 2048 new tokens: 39.02 tok/s.
    d = cli("estimate", "qwen2-vl-7b", "--quant", "bf16", "--runner", "transformers", "--gpu", "A100-SXM4-80GB",
            "--context", "1", "--images", "0", "--max-new-tokens", "2048", "--runner-version", "4.45.0", "--json").json()
    assert abs(d["tokens_per_s"] - 39.02) / 39.02 <= 0.25
    assert d["hardware"]["source"] == "preset" and d["runtime"]["version"] == "4.45.0"


def test_estimate_hardware_flags(cli):
    d = cli("estimate", "qwen2.5-vl-7b", "--gpu", "rtx 3090", "--gpu-count", "2", "--json").json()
    assert len(d["hardware"]["gpus"]) == 2
    for bad in (["--gpu", "Nonexistent 9999"], ["--vram", "-3"], ["--gpu-count", "0"], ["--ram", "lots"],
                ["--quant", "q9_x"], ["--runner", "ollama", "--quant", "nf4"]):
        r = cli("estimate", "qwen2.5-vl-7b", *bad)
        assert r.code == 2, (bad, r.err)
        assert "Traceback" not in r.err


def test_estimate_api_is_usage_error(cli):
    r = cli("estimate", "gpt-4o")
    assert r.code == 2 and "hosted API" in r.err


def test_debug_shows_traceback(monkeypatch):
    r = run("show", "nope", env={"VLMSELECT_DEBUG": "1"})
    assert r.returncode != 0 and "Traceback" in r.stderr
    r = run("show", "nope")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_non_editable_install_ships_the_catalog(tmp_path):
    """`pip install .` (a wheel, not editable) works from any directory: the YAML is inside the package."""
    import shutil

    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources, and no test
    # writes into the checkout.
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info",
                                                             "__pycache__", ".pytest_cache", ".mypy_cache",
                                                             ".ruff_cache"))
    wheel_dir = tmp_path / "wheel"
    b = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                        str(wheel_dir), str(src)], capture_output=True, text=True, timeout=300)
    assert b.returncode == 0, b.stderr[-2000:]
    wheel = next(wheel_dir.glob("vlmselect-*.whl"))
    target = tmp_path / "site"
    i = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                       capture_output=True, text=True, timeout=300)
    assert i.returncode == 0, i.stderr[-2000:]
    assert (target / "vlmselect" / "catalog_data" / "models.yaml").exists()
    r = run("models", "--json", env={"PYTHONPATH": str(target)}, cwd="/")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)) > 40
    where = subprocess.run([sys.executable, "-c", "import vlmselect; print(vlmselect.__file__)"], capture_output=True,
                           text=True, env=dict(os.environ, PYTHONPATH=str(target)), cwd="/")
    assert where.stdout.startswith(str(target))


def test_show_says_where_the_seed_is_wrong(cli):
    r = cli("show", "qwen2-vl-72b")
    assert "seed disagrees" in r.out and "24 GB at q4" in r.out
    d = cli("show", "qwen2-vl-72b", "--json").json()
    assert d["seed_check"] and d["seed_check"][0]["estimate_gib"] > 40


def _env(tmp_path, **extra):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHONIOENCODING")}
    env.update({"VLMSELECT_CACHE_DIR": str(tmp_path / "c"), "VLMSELECT_CONFIG_DIR": str(tmp_path / "cfg"),
                "VLMSELECT_DATA_DIR": str(tmp_path / "d")}, **extra)
    return env


@pytest.mark.parametrize("args", [["recommend", "--task", "ocr", "--gpu", "RTX 3090", "--explain"],
                                  ["models"], ["show", "qwen2-vl-7b"], ["estimate", "qwen2-vl-7b", "--gpu", "3090"]])
def test_any_terminal_encoding(tmp_path, args):
    """PYTHONIOENCODING=ascii (a C locale, an old terminal): symbols become '?', nothing fails."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "vlmselect", *args], capture_output=True,
                       env=_env(tmp_path, PYTHONIOENCODING="ascii"), timeout=120)
    assert r.returncode == 0, r.stderr.decode("ascii", "replace")
    r.stdout.decode("ascii")  # pure ASCII
    assert b"internal error" not in r.stderr


def test_internal_error_path_says_report_it_and_debug_shows_the_traceback(cli, monkeypatch):
    import vlmselect.catalog_views as views

    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(views, "model_vram", bug)
    r = cli("show", "qwen2-vl-7b")
    assert r.code == 1
    assert "Error: internal error: ZeroDivisionError: division by zero" in r.err
    assert "--debug" in r.err and "report it" in r.err and "Traceback" not in r.err
    with pytest.raises(ZeroDivisionError):
        cli("--debug", "show", "qwen2-vl-7b")


def test_a_closed_pipe_is_not_an_internal_error(cli, monkeypatch):
    """`vlmselect models --json | head`: the reader left, the write fails with EPIPE."""
    import vlmselect.render as render

    def closed(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(render, "print_json", closed)
    r = cli("models", "--json")
    assert r.code in (1, 141) and r.err == ""  # click exits 1 silently on EPIPE; our boundary says 141

def test_runtime_flags_reach_the_estimate(cli):
    d = cli("estimate", "gemma-3-12b", "--quant", "q4_k_m", "--runner", "llama.cpp", "--kv-cache", "q8_0",
            "--flash-attention", "on", "--runner-version", "b7000", "--json").json()
    assert d["runtime"] == {"runner": "llama.cpp", "version": "b7000", "version_source": "given",
                            "flash_attention": True, "kv_cache": "q8_0", "basis": d["runtime"]["basis"]}
    f16 = cli("estimate", "gemma-3-12b", "--quant", "q4_k_m", "--runner", "llama.cpp", "--json").json()
    assert d["parts_gib"]["kv_cache"] < 0.6 * f16["parts_gib"]["kv_cache"]  # 34/32 vs 2 bytes per element


@pytest.mark.parametrize("args", [
    ("estimate", "gemma-3-12b", "--runner", "llama.cpp", "--kv-cache", "q4_0", "--flash-attention", "off"),
    ("estimate", "gemma-3-12b", "--kv-cache", "int3"),
    ("estimate", "gemma-3-12b", "--flash-attention", "maybe"),
    ("estimate", "qwen2.5-vl-7b", "--runner", "transformers", "--kv-cache", "q8_0"),
    ("recommend", "--task", "ocr", "--runner-version", "0.13.4"),
    ("estimate", "gemma-3-12b", "--runner-version", "1.0; rm -rf /"),
])
def test_bad_runtime_options_exit_2_with_a_hint(cli, args):
    r = cli(*args)
    assert r.code == 2 and "Hint" in r.err and "Traceback" not in r.err


def test_estimate_says_what_fits_when_it_does_not(cli):
    d = cli("estimate", "qwen2.5-vl-7b", "--quant", "bf16", "--runner", "transformers", "--gpu", "RTX 4090",
            "--context", "65536", "--json").json()
    f = d["fits_up_to"]
    assert 0 < f["context"] < 65536
    assert f["images"] == 0 and f["resolution"] is None  # each answer holds the rest as asked: 65536 fits no image
    assert any("fits context up to" in n for n in d["notes"])
    at = lambda c: cli("estimate", "qwen2.5-vl-7b", "--quant", "bf16", "--runner", "transformers", "--gpu",  # noqa: E731
                       "RTX 4090", "--context", str(c), "--json").json()
    assert at(f["context"])["total_gib"] <= f["budget_gib"] < at(f["context"] + 512)["total_gib"]
    assert at(f["context"])["fits_up_to"]["images"] >= 1


def test_vllm_estimate_reports_its_kv_pool(cli):
    # vLLM takes gpu_memory_utilization (0.9) of the card; weights and profiling come first (vllm#17891).
    d = cli("estimate", "qwen2.5-vl-7b", "--runner", "vllm", "--quant", "bf16", "--gpu", "RTX 4090", "--json").json()
    pool = d["vllm_kv_pool"]
    assert 0 < pool["gib"] < 0.9 * 24 - 14 and pool["tokens"] > d["context"]
    long = cli("estimate", "qwen2.5-vl-7b", "--runner", "vllm", "--quant", "bf16", "--gpu", "RTX 4090",
               "--context", "120000", "--json").json()
    assert long["vllm_kv_pool"]["tokens"] < long["context"]
    assert any("--max-model-len" in n for n in long["notes"])
