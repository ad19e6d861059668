"""bench against a loopback OpenAI-compatible stand-in: levels, percentiles, scoring, records, and plan's use of them."""

from __future__ import annotations

import base64
import json

from fake_apis import CARD_ANSWER, FakeAPIs


def test_bench_measures_concurrency_and_scores_answers(cli):
    with FakeAPIs(model="tiny-vlm", answer=CARD_ANSWER, token_delay_s=0.01) as s:
        r = cli("bench", "--server", s.url, "--concurrency", "1,4", "--requests", "8", "--json")
        assert r.code == 0, r.err
        d = r.json()
        body = s.chat_bodies()[0]
    assert d["model"] == "tiny-vlm" and [lv["concurrency"] for lv in d["levels"]] == [1, 4]
    one, four = d["levels"]
    assert one["ok"] == 8 and four["ok"] == 8 and one["passed"] == 8  # the stand-in reads the card right
    # A server that batches serves four in flight in about the time of one: images/s rises.
    assert four["images_per_s"] > 2 * one["images_per_s"]
    # Every answer streams its word pieces at 10 ms each: no request can be faster than that.
    assert one["latency_p50_s"] >= 0.01 * len(CARD_ANSWER.split(" ")) and one["ttft_p50_s"] < one["latency_p50_s"]
    assert one["latency_p50_s"] <= one["latency_p90_s"] <= one["latency_p99_s"]
    # The request is an OpenAI chat completion with a base64 PNG and a streamed answer.
    part = body["messages"][0]["content"][0]
    assert part["type"] == "image_url" and part["image_url"]["url"].startswith("data:image/png;base64,")
    assert base64.b64decode(part["image_url"]["url"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert body["stream"] is True
    rec = json.loads(open(d["record"]).read())
    assert rec["levels"][1]["images_per_s"] == four["images_per_s"]


def test_failed_requests_are_counted_not_fatal(cli):
    with FakeAPIs(model="tiny-vlm", answer=CARD_ANSWER, fail_every=2, token_delay_s=0.001) as s:
        d = cli("bench", "--server", s.url, "--concurrency", "2", "--requests", "6", "--json").json()
    lv = d["levels"][0]
    assert lv["ok"] == 3 and any("500" in e for e in lv["errors"])


def test_unreachable_server_and_bad_flags(cli):
    r = cli("bench", "--server", "http://127.0.0.1:9", "--concurrency", "1")
    assert r.code == 1 and "Hint:" in r.err
    assert cli("bench", "--server", "file:///etc/passwd").code == 2
    assert cli("bench", "--server", "http://127.0.0.1:9", "--concurrency", "a,b").code == 2
    with FakeAPIs(model="tiny-vlm", answer=CARD_ANSWER) as s:
        r = cli("bench", "--server", s.url, "--model", "other", "--concurrency", "1", "--requests", "1")
    assert r.code == 1 and "404" in r.err


def test_plan_prefers_a_recorded_measurement(cli):
    with FakeAPIs(model="tiny-vlm", answer=CARD_ANSWER, token_delay_s=0.001) as s:
        assert cli("bench", "--server", s.url, "--id", "qwen2.5-vl-7b", "--gpu", "3090",
                   "--concurrency", "1,2", "--requests", "4").code == 0
    d = cli("plan", "--model", "qwen2.5-vl-7b", "--gpu", "3090", "--rate", "1", "--json").json()
    p = d["plans"][0]
    assert p["source"].startswith("measured")
    assert "replaced by a measurement" in p["basis"]["throughput"]
