"""The typed catalog schema: what `catalog validate` accepts, every command can use; hostile files
(alias bombs, huge, non-UTF-8, binary, shell metacharacters in names) end in a clear message."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vlmselect.catalog import MAX_FILE_BYTES, load_catalog, validate_path

OVERLAYS = sorted((Path(__file__).parent / "data" / "overlays").glob("*.yaml"))

MODEL = """\
- id: tiny-vlm
  name: Tiny VLM
  family: tiny
  released: 2025-01-01
  license: apache-2.0
  hf_repo: example/tiny-vlm
  trust_remote_code: false
  params: {total_b: 1.0}
  arch: {layers: 4, kv_heads: 2, head_dim: 64, hidden: 1024}
  context_max: 4096
  image_tokens: {rule: fixed, tokens: 64}
  capabilities: {single_image: 2, multi_image: 0, ocr: 3, documents: 1, charts: 0, grounding: 0, video: 0}
  runners:
    gguf:
      repo: example/tiny-vlm-GGUF
      files: {q4_k_m: {file: tiny-Q4_K_M.gguf, size_gb: 0.6}}
    ollama:
      - {tag: "tiny:1b", quant: q4_k_m}
  sources: [https://example.org/tiny]
"""

API = """\
- id: tiny-api
  name: Tiny API
  provider: example
  released: 2025-01-01
  price: {input_per_mtok: 1.0, output_per_mtok: 2.0, source: "https://example.org/price"}
  image_tokens: {rule: openai-tiles, base: 85, per_tile: 170}
  capabilities: {single_image: 2, multi_image: 0, ocr: 3, documents: 1, charts: 0, grounding: 0, video: 0}
  sources: [https://example.org/tiny]
"""

TASK = """\
- id: tiny-task
  name: Tiny task
  needs: {ocr: 1}
  rank: {capabilities: {ocr: 1.0}, benchmarks: {ocrbench: 1.0}}
  images: 2
"""


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def problems_of(tmp_path: Path, name: str, text: str | bytes) -> tuple[Path, list[str]]:
    p = write(tmp_path, name, text)
    count, problems = validate_path(p)
    assert problems, "expected the file to be rejected"
    assert count == 0
    return p, problems


# ---------------------------------------------------------------- what used to validate and then crash


@pytest.mark.parametrize("name,text,expected", [
    ("models.yaml", MODEL.replace("{rule: fixed, tokens: 64}", "{rule: fixed}"),
     ":11: tiny-vlm image_tokens.tokens: is required"),
    ("models.yaml", MODEL.replace("{rule: fixed, tokens: 64}", "{rule: qwen2-vl, pixels_per_token: 0}"),
     ":11: tiny-vlm image_tokens.pixels_per_token: must be positive, got 0"),
    ("models.yaml", MODEL.replace("hidden: 1024", "hidden: '1024'"),
     ":9: tiny-vlm arch.hidden: must be an integer, got '1024'"),
    ("models.yaml", MODEL.replace("size_gb: 0.6", "size_gb: 'big'"),
     ":16: tiny-vlm runners.gguf.files.q4_k_m.size_gb: must be a number, got 'big'"),
    ("models.yaml", MODEL.replace("{rule: fixed, tokens: 64}", "{rule: openai-tiles, base: 85}"),
     ":11: tiny-vlm image_tokens.rule: rule 'openai-tiles' is a hosted API's billing rule"),
    ("apis.yaml", API.replace("rule: openai-tiles", "rule: qwen2-vl"),
     ":6: tiny-api image_tokens.rule: rule 'qwen2-vl' is a local model's preprocessing rule"),
    ("models.yaml", MODEL.replace("files: {q4_k_m:", "file: {q4_k_m:"),
     ":16: tiny-vlm runners.gguf.file: unknown field (did you mean 'files'? allowed here: repo, files, mmproj, source)"),
    ("models.yaml", MODEL.replace("{tag: \"tiny:1b\", quant: q4_k_m}", "{name: \"tiny:1b\"}"),
     ":18: tiny-vlm runners.ollama[0].tag: is required"),
    ("tasks.yaml", TASK.replace("ocr: 1.0}", "ocr: heavy}"),
     ":4: tiny-task rank.capabilities.ocr: must be a number, got 'heavy'"),
    ("tasks.yaml", TASK.replace("images: 2", "images: two"),
     ":5: tiny-task images: must be an integer, got 'two'"),
    ("models.yaml", MODEL.replace("hf_repo: example/tiny-vlm", "hf_repo: 'x; rm -rf ~'"),
     ":6: tiny-vlm hf_repo: must be a Hugging Face repo id"),
    ("models.yaml", MODEL.replace('"tiny:1b"', '"tiny:1b && curl evil"'),
     "runners.ollama[0].tag: must be an Ollama tag"),
    ("models.yaml", MODEL.replace("tiny-Q4_K_M.gguf", "'$(reboot).gguf'"),
     "runners.gguf.files.q4_k_m.file: must be a .gguf file name"),
    ("models.yaml", MODEL.replace("repo: example/tiny-vlm-GGUF", "repo: example/../etc"),
     "runners.gguf.repo: must be a Hugging Face repo id"),
    ("models.yaml", MODEL.replace("  sources:", "  sourcse: [https://example.org]\n  sources:"),
     "tiny-vlm sourcse: unknown field (did you mean 'sources'?"),
    ("models.yaml", MODEL.replace("released: 2025-01-01", "released: 20250101"),
     "tiny-vlm released: must be a date YYYY-MM-DD"),
    ("models.yaml", MODEL.replace("trust_remote_code: false", "trust_remote_code: 'no'"),
     "tiny-vlm trust_remote_code: must be true or false"),
])
def test_each_problem_named_with_file_line_and_field(tmp_path, name, text, expected):
    p, problems = problems_of(tmp_path, name, text)
    # Each problem is "FILE:LINE: ID FIELD: what". Where the case names the line (":11: ..."), that exact
    # line; else any line number, then the message.
    where = re.escape(str(p)) + ("" if expected.startswith(":") else r":\d+: .*")
    assert any(re.match(where + re.escape(expected), x) for x in problems), problems
    assert all(x.startswith(str(p)) for x in problems)


def test_every_problem_at_once(tmp_path):
    bad = (MODEL.replace("hidden: 1024", "hidden: x").replace("ocr: 3", "ocr: 7")
           .replace("{rule: fixed, tokens: 64}", "{rule: fixed}").replace("hf_repo: example/tiny-vlm", "hf_repo: a b"))
    _, problems = problems_of(tmp_path, "models.yaml", bad)
    fields = sorted(x.split(" tiny-vlm ")[1].split(":")[0] for x in problems)
    assert fields == ["arch.hidden", "capabilities.ocr", "hf_repo", "image_tokens.tokens"]


def test_the_new_optional_fields_are_accepted_and_reach_the_specs():
    cat = load_catalog(OVERLAYS, include_user=False)
    m = cat.models["edge-fixed"]
    assert m.arch.tied_embeddings is True and m.params_projector_b == 0.01 and m.max_images == 1
    assert m.unknown == {"arch.vocab": "the card gives no config.json"}
    assert m.benchmark_meta["ocrbench"] == {"by": "independent", "mode": "plain", "split": "test", "version": "v1",
                                           "harness": "VLMEvalKit", "date": "2025-02-01", "note": "from a leaderboard"}
    assert cat.models["edge-qwen"].runners["gguf"]["mmproj"]["precision"] == "f16"
    # quant names normalised at load, formats vlmselect does not model kept as written
    assert set(cat.models["edge-qwen"].runners["gguf"]["files"]) == {"q4_k_m", "q5_0"}


@pytest.mark.parametrize("field,value", [("by", "someone"), ("mode", "sleepy"), ("date", "yesterday"), ("scores", 1)])
def test_benchmark_provenance_is_checked(tmp_path, field, value):
    text = MODEL + f"  benchmarks: {{ocrbench: {{score: 700, source: 'https://e.org', {field}: {value}}}}}\n"
    _, problems = problems_of(tmp_path, "models.yaml", text)
    assert any(f"benchmarks.ocrbench.{field}" in x for x in problems), problems


# ---------------------------------------------------------------- hostile files


def test_alias_bomb_is_refused_before_it_expands(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("VLMSELECT_CACHE_DIR", str(tmp_path / "cache"))  # its own: checked below for no entry
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    bomb = "\n".join(lines) + "\nmodels: *a8\n"  # ~800 bytes, 10^9 nodes once expanded
    assert len(bomb) < 2000
    p = write(tmp_path, "bomb.yaml", bomb)
    r = cli("--catalog", str(p), "models", "--json")
    assert r.code == 2
    assert "expands to more than" in r.err and f"{p}:" in r.err and "Traceback" not in r.err
    assert not list((tmp_path / "cache").glob("catalog-bomb-*.json"))


def test_self_referencing_alias_is_refused(tmp_path):
    _, problems = problems_of(tmp_path, "models.yaml", "- &a [*a]\n")
    assert "refers to itself" in problems[0]


def test_deep_nesting_is_refused(tmp_path):
    _, problems = problems_of(tmp_path, "models.yaml", "[" * 200 + "]" * 200 + "\n")
    assert "nested deeper than" in problems[0]


def test_a_huge_file_gets_a_size_message(tmp_path):
    p = tmp_path / "models.yaml"
    with p.open("w") as f:
        f.write("# " + "x" * 1000 + "\n")
        f.truncate(MAX_FILE_BYTES + 1)
    _, problems = problems_of(tmp_path, "models.yaml", p.read_bytes())
    assert "a catalog file may be at most 4 MB" in problems[0]


def test_non_utf8_and_binary_files(tmp_path, cli):
    _, problems = problems_of(tmp_path, "models.yaml", MODEL.replace("Tiny VLM", "Tiny \xe9").encode("latin-1"))
    assert "models.yaml:2: is not UTF-8 text (byte 0xe9" in problems[0]
    # A PNG fails on its first byte; UTF-8 text with NUL bytes in it is a binary file.
    _, problems = problems_of(tmp_path, "gpus.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "gpus.yaml:1: is not UTF-8 text (byte 0x89 at offset 0)" in problems[0]
    _, problems = problems_of(tmp_path, "gpus.yaml", b"- id: x\n\x00\x00\x00\x01IHDR")
    assert problems[0].endswith("gpus.yaml: is a binary file, not YAML")
    _, problems = problems_of(tmp_path, "tasks.yaml", "Just some prose, not a catalog.\n")
    assert "must be a list of tasks entries, got str" in problems[0]


def test_a_bad_user_file_breaks_commands_with_a_clear_message_not_a_crash(isolated_user, cli):
    d = isolated_user / "config"
    d.mkdir()
    (d / "models.yaml").write_bytes(b"\xff\xfe not utf-8")
    r = cli("models")
    assert r.code == 2 and "is not UTF-8 text" in r.err and "internal error" not in r.err


# ---------------------------------------------------------------- validate --json and the cache


def test_validate_json(tmp_path, cli):
    good = write(tmp_path, "models.yaml", MODEL)
    r = cli("catalog", "validate", "--json", str(good))
    assert r.code == 0, r.err
    assert r.json() == {"path": str(good), "entries": 1, "valid": True, "problems": []}
    bad = write(tmp_path, "apis.yaml", API.replace("base: 85", "base: -1"))
    r = cli("catalog", "validate", "--json", str(bad))
    assert r.code == 2
    d = r.json()
    assert d["valid"] is False and d["entries"] == 0
    assert d["problems"] == [f"{bad}:6: tiny-api image_tokens.base: must be 0 or more, got -1"]


def test_a_valid_cache_is_read_without_yaml_or_pydantic(tmp_path):
    env = dict(os.environ, VLMSELECT_CACHE_DIR=str(tmp_path / "cache"), VLMSELECT_CONFIG_DIR=str(tmp_path / "cfg"))
    code = ("import sys; from vlmselect.catalog import load_catalog; load_catalog(); "
            "print(sorted(m for m in ('yaml', 'pydantic') if m in sys.modules))")
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert first.stdout.strip() == "['pydantic', 'yaml']"  # cold: parsed and validated
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert again.stdout.strip() == "[]"


# ---------------------------------------------------------------- valid means every command works


def _hardware(cat, gpu=None, cpu_only=False):
    from vlmselect.hardware import build_profile

    return build_profile(cat, gpu=gpu, gpu_count=1, vram=None, ram=64, cpu_only=cpu_only)


def test_every_entry_works_in_every_command(cli):
    """For every shipped entry and every test overlay: estimate (GPU, CPU), recommend (every task,
    local and API), and `models --json` all complete and give numbers."""
    from vlmselect.catalog_views import estimate_one
    from vlmselect.memory import Workload
    from vlmselect.recommend import Request, recommend

    cat = load_catalog(OVERLAYS, include_user=False)
    assert {"edge-fixed", "edge-api-gemini", "edge-task", "edge-gpu"} <= {*cat.models, *cat.apis, *cat.tasks, *cat.gpus}
    w = Workload(context=2048, images=2, width=1280, height=720, max_new_tokens=64)
    for hw in (_hardware(cat, gpu="edge-gpu"), _hardware(cat, cpu_only=True)):
        for m in cat.models.values():
            d = estimate_one(cat, m, None, None, w, hw)
            assert d["total_gib"] > 0, m.id
        for t in cat.tasks.values():
            wl = Workload(images=t.images or 1, video=t.video)
            rec = recommend(cat, hw, Request(task=t, workload=wl, top=100))
            assert rec is not None
    r = cli("--catalog", str(OVERLAYS[0].parent), "models", "--json")
    assert r.code == 0, r.err
    rows = r.json()
    assert len(rows) == len(cat.models) + len(cat.apis)
    for g in cat.gpus:
        r = cli("--catalog", str(OVERLAYS[0].parent), "recommend", "--task", "edge-video-task", "--gpu", g, "--json")
        assert r.code == 0, (g, r.err)
    r = cli("--catalog", str(OVERLAYS[0].parent), "estimate", "edge-qwen", "--gpu", "edge-gpu", "--json")
    assert r.code == 0 and json.loads(r.out)["id"] == "edge-qwen"


def test_a_duplicate_key_is_a_problem_not_a_silent_overwrite(cli, tmp_path):
    # YAML loaders keep the last of two equal keys; a second `unknown:` block once hid the first.
    path = tmp_path / "dup-models.yaml"
    path.write_text("- id: dup\n  name: A\n  params: {total_b: 1}\n  name: B\n")
    r = cli("catalog", "validate", str(path))
    assert r.code == 2 and ":4: duplicate key 'name'" in r.err and "Traceback" not in r.err
