"""One runner vocabulary: every alias the CLI accepts maps to one runner, everywhere."""

from __future__ import annotations

import json

import pytest

from vlmselect.errors import UsageError
from vlmselect.quant import RUNNER_FORMATS, RUNNERS
from vlmselect.runner_names import Runner, parse_runner, runner_or_none


@pytest.mark.parametrize("name, runner", [
    ("ollama", Runner.OLLAMA), ("OLLAMA", Runner.OLLAMA), ("hf", Runner.TRANSFORMERS),
    ("transformers", Runner.TRANSFORMERS), ("llama.cpp", Runner.LLAMA_CPP), ("llamacpp", Runner.LLAMA_CPP),
    ("llama-cpp", Runner.LLAMA_CPP), ("vllm", Runner.VLLM), ("vLLM", Runner.VLLM),
])
def test_aliases(name, runner):
    assert runner_or_none(name) is runner and parse_runner(name) is runner


def test_a_runner_is_its_plain_name_as_a_key_and_in_json():
    assert Runner.LLAMA_CPP == "llama.cpp" and RUNNER_FORMATS[Runner.LLAMA_CPP] == RUNNER_FORMATS["llama.cpp"]
    assert {Runner.VLLM: 1}["vllm"] == 1
    assert json.dumps({"runner": Runner.OLLAMA}) == '{"runner": "ollama"}'
    assert f"{Runner.TRANSFORMERS}" == str(Runner.TRANSFORMERS) == "transformers"
    assert set(RUNNERS) == {r.value for r in Runner}  # quant's table covers exactly the vocabulary


def test_unknown_runner_is_a_usage_error_with_the_closest():
    with pytest.raises(UsageError) as exc:
        parse_runner("olama")
    assert "ollama" in exc.value.hint
    with pytest.raises(UsageError):
        parse_runner("vllm", allowed=[Runner.OLLAMA, Runner.TRANSFORMERS])


@pytest.mark.parametrize("alias", ["hf", "llamacpp", "llama-cpp"])
def test_recommend_and_estimate_take_every_alias(cli, alias):
    r = cli("recommend", "--task", "ocr", "--gpu", "RTX 3090", "--runner", alias, "--json")
    assert r.code == 0, r.err
    want = runner_or_none(alias).value
    assert all(p["runner"] == want for p in r.json()["local"])
    e = cli("estimate", "qwen2-vl-7b", "--gpu", "3090", "--runner", alias, "--json")
    assert e.code == 0 and e.json()["runner"] == want
