"""plan: throughput at volume held to first principles and spec sheets; replicas, costs, deployments, bad input."""

from __future__ import annotations

import ast
import math
import py_compile

import pytest

# NVIDIA H100 SXM5 datasheet: 989.4 dense BF16 tensor TFLOPS (1,979 with sparsity), 3.35 TB/s HBM3.
H100_BF16_FLOPS = 989.4e12
H100_BANDWIDTH = 3.35e12
# Qwen2.5-VL-7B-Instruct: Qwen2-7B language model (7.6 B parameters, config.json: 28 layers x 3584 hidden);
# a 1024x1024 image is 37 x 37 = 1,369 tokens at 28 x 28 pixels per token (Qwen2.5-VL README).
QWEN7B_TEXT_PARAMS = 7.0e9  # a lower bound on what every token passes through
QWEN7B_IMAGE_TOKENS = 1369
QWEN7B_BF16_WEIGHT_BYTES = 15.2e9  # model.safetensors shards of the language model, at least


def plan(cli, *args):
    r = cli("plan", *args, "--json")
    assert r.code == 0, r.err
    return r.json()


def test_batching_serves_many_more_images_than_one_at_a_time_but_never_beyond_compute(cli):
    d = plan(cli, "--model", "qwen2.5-vl-7b", "--gpu", "h100", "--images", "100000", "--within", "24h")
    p = d["plans"][0]
    curve = {c["concurrency"]: c["images_per_hour"] for c in p["curve"]}
    assert p["concurrency"] >= 64
    assert curve[p["concurrency"]] >= 5 * curve[1]  # continuous batching: weights read once per step for all
    # Compute: every prompt and generated token passes through >= 7 B parameters at 2 FLOPs each.
    tokens = QWEN7B_IMAGE_TOKENS + 256
    assert p["images_per_hour_per_replica"] <= 3600 * H100_BF16_FLOPS / (2 * QWEN7B_TEXT_PARAMS * tokens)
    # Bandwidth: one request alone decodes at most one token per full read of the weights.
    assert curve[1] <= 3600 / (256 * QWEN7B_BF16_WEIGHT_BYTES / H100_BANDWIDTH)
    # Latency grows with what is in flight (Little's law), throughput never falls.
    ips = [c["images_per_hour"] for c in p["curve"]]
    lat = [c["latency_s"] for c in p["curve"]]
    assert ips == sorted(ips) and lat == sorted(lat)


def test_kv_pool_is_never_overcommitted(cli):
    d = plan(cli, "--model", "qwen2.5-vl-7b", "--gpu", "3090", "--rate", "1")
    p = d["plans"][0]
    # vLLM takes gpu_memory_utilization (0.9) of the card; the weights alone are ~15.5 GiB (published
    # safetensors 16.58 GB); what the requests in flight hold must fit in what is left.
    assert p["concurrency"] * p["kv_per_request_mib"] / 1024 <= 0.9 * 24 - 15.5
    assert p["concurrency"] == min(p["max_concurrency_kv"], p["max_num_seqs"])
    assert p["max_num_seqs"] == 256  # vLLM's default below 70 GiB


def test_replicas_are_the_fewest_that_meet_the_deadline(cli):
    d = plan(cli, "--model", "qwen2.5-vl-7b", "--gpu", "a100 80gb", "--gpu-count", "8",
             "--images", "2000000", "--within", "24h")
    p = d["plans"][0]
    per_replica = p["images_per_hour_per_replica"]
    assert p["replicas"] * per_replica * 24 >= 2_000_000 * 0.999
    assert (p["replicas"] - 1) * per_replica * 24 < 2_000_000
    assert p["gpus"] == p["replicas"] * p["gpus_per_replica"]
    assert p["nodes"] == math.ceil(p["gpus"] / 8)
    assert p["meets"] == (p["replicas"] <= p["replicas_available"])


def test_a_model_larger_than_a_node_plans_tensor_x_pipeline_parallel_on_ray(cli):
    # 72B in bf16 is ~145 GiB: more than four 24 GiB cards; without a quant that fits one node, two nodes.
    d = plan(cli, "--model", "qwen2-vl-72b", "--gpu", "3090", "--gpu-count", "4", "--nodes", "2", "--rate", "0.1")
    p = d["plans"][0]
    if p["gpus_per_replica"] <= 4:  # an AWQ build fits one node: then no Ray is needed
        assert p["quant"] in ("awq", "gptq") and not p["deploy"]["ray"]
    else:
        assert any("--pipeline-parallel-size" in c for c in p["deploy"]["serve"]) and p["deploy"]["ray"]


def test_api_batch_prices_are_half_with_the_providers_sources(cli):
    d = plan(cli, "--task", "ocr", "--gpu", "3090", "--images", "1000", "--within", "1d")
    for a in d["api"]:
        if a["provider"] in ("openai", "anthropic", "google"):
            assert a["batch_usd_per_image"] == pytest.approx(a["usd_per_image"] / 2, rel=0.01, abs=1e-6)
            assert a["batch_source"].startswith("https://")
        assert a["job_usd"] == pytest.approx(a["usd_per_image"] * 1000, rel=0.01, abs=0.01)


def test_break_even_volume_with_an_owned_gpu(cli):
    d = plan(cli, "--model", "qwen2.5-vl-7b", "--gpu", "3090", "--rate", "0.5", "--gpu-price", "1000",
             "--power-price", "0.3")
    p = d["plans"][0]
    assert "0.3/kWh" in p["cost_basis"]
    # The purchase spread over five years of full use (IRS Pub. 946), per GPU-second of each image.
    gpu_s = p["gpus_per_replica"] / (p["images_per_hour_per_replica"] / 3600)
    assert p["amortised_usd_per_image"] == pytest.approx(p["local_usd_per_image"] + 1000 / (5 * 8766) * gpu_s / 3600,
                                                         rel=0.01)
    for a in d["api"]:
        cheapest = a["batch_usd_per_image"] or a["usd_per_image"]
        if cheapest > p["local_usd_per_image"]:
            n = a["breakeven_images"]
            # At that volume the fleet's price is paid back by what the API would have cost more.
            assert n * (cheapest - p["local_usd_per_image"]) == pytest.approx(1000 * p["gpus"], rel=0.01)


def test_printed_deployment_is_quoted_and_loopback(cli):
    d = plan(cli, "--task", "ocr", "--gpu", "h100", "--gpu-count", "2", "--rate", "5")
    for p in d["plans"]:
        for cmd in p["deploy"]["serve"]:
            assert "--host 127.0.0.1" in cmd and "--trust-remote-code" not in cmd
            assert "'{\"image\": 1}'" in cmd  # the JSON argument survives a shell
    text = cli("plan", "--task", "ocr", "--gpu", "h100", "--rate", "5").out
    assert "vllm serve" in text and "images/h" in text


def test_write_pipeline_emits_a_runnable_script(cli, tmp_path):
    out = tmp_path / "jobs" / "batch.py"
    d = plan(cli, "--model", "qwen2.5-vl-7b", "--gpu", "h100", "--images", "5000", "--within", "2h",
             "--write-pipeline", str(out))
    assert d["pipeline"] == str(out)
    py_compile.compile(str(out), doraise=True)
    text = out.read_text()
    cfg = ast.literal_eval(text.split("CONFIG: dict = ", 1)[1].split("\n\nIMAGE_SUFFIXES", 1)[0])
    assert cfg["model"] == "Qwen/Qwen2.5-VL-7B-Instruct" and cfg["trust_remote_code"] is False
    assert cfg["gpus_per_replica"] == d["plans"][0]["gpus_per_replica"]


@pytest.mark.parametrize("args, words", [
    ([], "--task or --model"),
    (["--task", "ocr", "--model", "qwen2.5-vl-7b"], "--task or --model"),
    (["--task", "ocr", "--images", "10"], "go together"),
    (["--task", "ocr", "--images", "10", "--within", "soon"], "duration"),
    (["--task", "ocr", "--rate", "0"], "above 0"),
    (["--task", "ocr", "--rate", "1", "--images", "5", "--within", "1h"], "excludes"),
    (["--model", "gpt-4o", "--rate", "1"], "hosted API"),
    (["--task", "ocr", "--rate", "1", "--power-price", "-1"], "0 or more"),
])
def test_bad_input_is_a_usage_error(cli, args, words):
    r = cli("plan", *args, "--gpu", "3090")
    assert r.code == 2, r.err
    assert words in r.err and "Traceback" not in r.err


def test_no_gpu_is_a_usage_error_with_a_hint(catalog):
    from vlmselect.errors import UsageError
    from vlmselect.hardware.types import HardwareProfile
    from vlmselect.memory import Workload
    from vlmselect.plan import Costs, Volume, make_plans

    with pytest.raises(UsageError) as e:
        make_plans(catalog, HardwareProfile("none"), catalog.task("ocr"), None, Workload(), Volume(rate_per_s=1),
                   1, Costs())
    assert "--gpu" in e.value.hint
