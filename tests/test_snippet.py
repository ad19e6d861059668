"""`vlmselect snippet`: every printed snippet is RUN, as a user would, against loopback stand-ins
(Ollama, the hosted APIs, OpenAI-compatible servers) or the tiny random LLaVA; the requests they
send are checked for the model id, the image encoding and the detail level."""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fake_apis import REPLY, FakeAPIs
from fake_ollama import FakeOllama

KEY = "sk-test-0123456789"  # what the SDKs read from the environment; must never be printed


def make_image(path: Path, w: int, h: int) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), "white")
    ImageDraw.Draw(img).text((10, 10), "INVOICE 4711", fill="black")
    img.save(path, "JPEG")
    return path.read_bytes()


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and k not in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL")}
    env.update(NO_PROXY="127.0.0.1,localhost", OPENAI_API_KEY=KEY, ANTHROPIC_API_KEY=KEY, GEMINI_API_KEY=KEY)
    env.pop("GOOGLE_API_KEY", None)
    env.update(extra)
    return env


def run_snippet(code: str, lang: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """Run the code as printed: Python with this venv's interpreter, curl with bash."""
    f = cwd / ("run.py" if lang == "python" else "run.sh")
    f.write_text(code)
    cmd = [sys.executable, str(f)] if lang == "python" else ["bash", str(f)]
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{code}\n--- stderr:\n{r.stderr[-3000:]}"
    assert KEY not in r.stdout + r.stderr and KEY not in code
    return r


def snippet_json(cli, *args) -> dict:
    r = cli("snippet", *args, "--json")
    assert r.code == 0, r.err
    return r.json()


def decoded_image(b64: str, urlsafe: bool = False) -> bytes:
    """Strict base64 (google-genai sends the URL-safe alphabet, which the Gemini API takes too)."""
    return base64.b64decode(b64, altchars=b"-_" if urlsafe else None, validate=True)


def image_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(data)).size


# ---------------------------------------------------------------- hosted APIs


API_CASES = [("gpt-4o", "openai"), ("claude-sonnet-4.5", "anthropic"), ("gemini-2.5-flash", "google")]


@pytest.fixture
def apis():
    with FakeAPIs() as srv:
        yield srv


def api_env(srv) -> dict:
    return clean_env(OPENAI_BASE_URL=srv.url + "/v1", ANTHROPIC_BASE_URL=srv.url, GOOGLE_GEMINI_BASE_URL=srv.url)


def sent_image(provider: str, req: dict) -> tuple[str, bytes, dict]:
    """(mime, image bytes, extras) from one recorded request of `provider`'s shape."""
    b = req["body"]
    if provider == "anthropic":
        src = b["messages"][0]["content"][0]["source"]
        assert src["type"] == "base64"
        return src["media_type"], decoded_image(src["data"]), {}
    if provider == "google":
        part = b["contents"][0]["parts"][0]
        inline = part.get("inline_data") or part.get("inlineData")
        mime = inline.get("mime_type") or inline.get("mimeType")
        data = inline["data"]
        return mime, decoded_image(data, urlsafe="-" in data or "_" in data), b.get("generationConfig") or b.get("generation_config") or {}
    url = next(c for c in b["messages"][0]["content"] if c["type"] == "image_url")["image_url"]
    head, data = url["url"].split(",", 1)
    assert head.endswith(";base64")
    return head[5:].split(";")[0], decoded_image(data), url


def check_request(provider: str, api_model: str, req: dict, image: bytes, prompt: str, resized: tuple | None) -> dict:
    h = req["headers"]
    if provider == "openai":
        assert req["path"] == "/v1/chat/completions" and h["authorization"] == f"Bearer {KEY}"
        assert req["body"]["model"] == api_model
    elif provider == "anthropic":
        assert req["path"] == "/v1/messages"
        assert KEY in (h.get("x-api-key"), h.get("authorization", "").removeprefix("Bearer "))  # SDK 2.x: Bearer
        assert req["body"]["model"] == api_model and req["body"]["max_tokens"] > 0
    else:
        assert req["path"] in (f"/v1beta/models/{api_model}:generateContent", f"/v1/models/{api_model}:generateContent")
        assert h["x-goog-api-key"] == KEY
    mime, data, extras = sent_image(provider, req)
    assert mime == "image/jpeg"
    if resized:
        assert max(image_size(data)) <= max(resized) and image_size(data) != image_size(image)
    else:
        assert data == image  # the file's own bytes, base64 without loss
    assert prompt in str(req["body"])
    return extras


@pytest.mark.parametrize("lang", ["python", "curl"])
@pytest.mark.parametrize("api_id,provider", API_CASES)
def test_api_snippets_send_the_image_to_the_catalogs_model_id(cli, catalog, apis, tmp_path, api_id, provider, lang):
    image = make_image(tmp_path / "image.jpg", 640, 480)
    d = snippet_json(cli, api_id, "--lang", lang, "--task", "invoice", "--resolution", "640x480")
    assert d["target"] == provider and d["env"][-1].endswith("_API_KEY")
    r = run_snippet(d["code"], lang, tmp_path, api_env(apis))
    assert REPLY in r.stdout
    assert len(apis.requests) == 1
    extras = check_request(provider, catalog.apis[api_id].api_model, apis.requests[0], image,
                           catalog.tasks["invoice"].prompt, None)
    if provider == "openai":
        assert extras["detail"] == "high"


@pytest.mark.parametrize("api_id,provider", [("gpt-4o", "openai"), ("gemini-3-pro", "google")])
def test_low_detail_is_the_providers_cheaper_mode(cli, apis, tmp_path, api_id, provider):
    make_image(tmp_path / "image.jpg", 640, 480)
    d = snippet_json(cli, api_id, "--low-detail", "--resolution", "640x480")
    run_snippet(d["code"], "python", tmp_path, api_env(apis))
    _, _, extras = sent_image(provider, apis.requests[0])
    if provider == "openai":
        assert extras["detail"] == "low"
    else:
        assert extras.get("mediaResolution", extras.get("media_resolution")) == "MEDIA_RESOLUTION_LOW"
    assert d["image_advice"]["cheaper"]["mode"]


@pytest.mark.parametrize("lang", ["python", "curl"])
def test_large_images_are_resized_before_upload(cli, apis, tmp_path, lang):
    image = make_image(tmp_path / "image.jpg", 3000, 2000)
    d = snippet_json(cli, "claude-sonnet-4.5", "--lang", lang, "--resolution", "3000x2000")
    resize = tuple(int(x) for x in d["image_advice"]["resize_to"].split("x"))
    if lang == "curl":  # curl sends bytes as they are: the resize is a command to run first
        assert "magick" in d["code"] and d["image_advice"]["resize_to"] in d["code"]
        return
    run_snippet(d["code"], lang, tmp_path, api_env(apis))
    check_request("anthropic", "claude-sonnet-4-5-20250929", apis.requests[0], image, "Describe", resize)
    # Anthropic's own limit: images over 1568 px on the long edge are scaled down (and ~1.15 MP).
    assert max(resize) <= 1568


def test_every_api_in_the_catalog_has_a_snippet_with_its_current_model_id(cli, catalog):
    for a in catalog.apis.values():
        d = snippet_json(cli, a.id)
        assert repr(a.api_model) in d["code"], a.id
        assert a.provider in ("openai", "anthropic", "google")


# ---------------------------------------------------------------- local runners


@pytest.mark.parametrize("lang", ["python", "curl"])
def test_ollama_snippet_against_the_loopback_ollama(cli, catalog, tmp_path, lang):
    image = make_image(tmp_path / "image.jpg", 800, 600)
    d = snippet_json(cli, "qwen2.5-vl-7b", "--runner", "ollama", "--lang", lang, "--task", "ocr",
                     "--resolution", "800x600", "--cpu-only", "--ram", "64")
    tag = next(t["tag"] for t in catalog.models["qwen2.5-vl-7b"].runners["ollama"])
    with FakeOllama({tag: {}}) as srv:
        r = run_snippet(d["code"], lang, tmp_path, clean_env(OLLAMA_HOST=srv.host))
        chats = [q for q in srv.requests if q["path"] == "/api/chat"]
    assert srv.chat_reply.split()[0] in r.stdout
    assert len(chats) == 1 and chats[0]["images"] == 1 and chats[0]["images_b64_ok"] == [True]
    body = chats[0]["body"]
    assert body["model"] == tag and body["messages"][0]["content"] == catalog.tasks["ocr"].prompt
    assert decoded_image(body["messages"][0]["images"][0]) == image


def test_ollama_snippet_resizes_past_ollamas_qwen_cap(cli, tmp_path):
    make_image(tmp_path / "image.jpg", 3000, 2000)
    d = snippet_json(cli, "qwen2.5-vl-7b", "--runner", "ollama", "--resolution", "3000x2000", "--cpu-only", "--ram", "64")
    adv = d["image_advice"]
    w, h = (int(x) for x in adv["resize_to"].split("x"))
    assert w * h <= 1280 * 28 * 28  # Ollama's Qwen-VL cap: 1280 tokens of 28x28 px
    with FakeOllama({"qwen2.5vl:7b": {}}) as srv:
        run_snippet(d["code"], "python", tmp_path, clean_env(OLLAMA_HOST=srv.host))
        sent = [q for q in srv.requests if q["path"] == "/api/chat"][0]["body"]["messages"][0]["images"][0]
    sw, sh = image_size(decoded_image(sent))
    assert sw <= w and sh <= h and (w - sw) + (h - sh) <= 2  # PIL's thumbnail keeps the aspect, within a pixel


@pytest.mark.parametrize("runner,env_var", [("llama.cpp", "LLAMA_SERVER_URL"), ("vllm", "VLLM_URL")])
@pytest.mark.parametrize("lang", ["python", "curl"])
def test_openai_compatible_server_snippets(cli, catalog, apis, tmp_path, runner, env_var, lang):
    image = make_image(tmp_path / "image.jpg", 640, 480)
    d = snippet_json(cli, "qwen2.5-vl-7b", "--runner", runner, "--lang", lang, "--resolution", "640x480",
                     "--gpu", "RTX 3090")
    assert d["env"] == [env_var]
    assert any(n.startswith("start the server first: ") for n in d["notes"])
    r = run_snippet(d["code"], lang, tmp_path, clean_env(**{env_var: apis.url + "/v1"}))
    assert REPLY in r.stdout
    req = apis.requests[0]
    assert req["path"] == "/v1/chat/completions"
    m = catalog.models["qwen2.5-vl-7b"]
    assert req["body"]["model"] == (m.runners["gguf"]["repo"] if runner == "llama.cpp" else m.hf_repo)
    assert req["body"]["max_tokens"] == 256
    _, data, _ = sent_image("openai", req)
    assert data == image


@pytest.fixture(scope="module")
def tiny_llava(tmp_path_factory):
    from tiny_llava import build_tiny_llava

    return build_tiny_llava(tmp_path_factory.mktemp("tiny-llava"))


def seed_hf_cache(hf_home: Path, repo: str, src: Path) -> None:
    """Lay `src` out as huggingface_hub's cache does, so from_pretrained(repo) finds it offline."""
    rev = "0123456789abcdef0123456789abcdef01234567"
    base = hf_home / "hub" / f"models--{repo.replace('/', '--')}"
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text(rev)
    shutil.copytree(src, base / "snapshots" / rev)


@pytest.mark.slow
@pytest.mark.parametrize("size", [(640, 480), (2000, 1500)])
def test_transformers_snippet_runs_on_the_tiny_llava(cli, catalog, tiny_llava, tmp_path, size):
    """The snippet for LLaVA-1.6 7B, with the tiny random LLaVA in the cache under that repository id."""
    m = catalog.models["llava-1.6-7b"]
    make_image(tmp_path / "image.jpg", *size)
    hf = tmp_path / "hf"
    seed_hf_cache(hf, m.hf_repo, tiny_llava)
    d = snippet_json(cli, m.id, "--runner", "transformers", "--resolution", f"{size[0]}x{size[1]}", "--cpu-only",
                     "--ram", "64")
    assert ("thumbnail" in d["code"]) == (d["image_advice"]["resize_to"] is not None)
    assert size == (640, 480) or d["image_advice"]["resize_to"]  # past the anyres grid it resizes
    r = run_snippet(d["code"], "python", tmp_path, clean_env(HF_HOME=str(hf), HF_HUB_OFFLINE="1"))
    assert r.stdout.strip() != "" or r.stderr == ""


def test_transformers_has_no_curl_and_remote_code_needs_the_users_word(cli):
    r = cli("snippet", "qwen2.5-vl-7b", "--runner", "transformers", "--lang", "curl", "--cpu-only")
    assert r.code == 2 and "--lang python" in r.err
    remote = "paddleocr-vl"  # a ForConditionalGeneration class whose repository ships its code
    r = cli("snippet", remote, "--runner", "transformers", "--cpu-only")
    assert r.code == 2 and "--trust-remote-code" in r.err
    d = snippet_json(cli, remote, "--runner", "transformers", "--trust-remote-code", "--cpu-only")
    assert "trust_remote_code=True" in d["code"]
    # Models with an interface of their own (model.chat(), task tokens) get no generic snippet.
    for own in ("internvl2-8b", "nougat"):
        r = cli("snippet", own, "--runner", "transformers", "--trust-remote-code", "--cpu-only")
        assert r.code == 2 and "own prompt format" in r.err and "huggingface.co" in r.err


def test_snippet_usage_errors(cli):
    for args in (["gpt-4o", "--runner", "ollama"], ["gpt-4o", "--lang", "rust"], ["qwen2.5-vl-7b", "--low-detail"],
                 ["no-such-model"], ["gpt-4o", "--quant", "q4_k_m"], ["qwen2.5-vl-7b", "--task", "nope"]):
        r = cli("snippet", *args)
        assert r.code == 2, (args, r.err)
        assert "Traceback" not in r.err, (args, r.err)
        assert "Hint:" in r.err or "did you mean" in r.err, (args, r.err)


def test_values_are_quoted_not_pasted(cli, apis, tmp_path):
    """A hostile image path stays one string in Python and one word in the shell."""
    name = "it's a $(touch PWNED) `touch PWNED2` \"x\".jpg"
    image = make_image(tmp_path / name, 320, 240)
    for lang in ("python", "curl"):
        d = snippet_json(cli, "gpt-4o", "--lang", lang, "--image", name, "--resolution", "320x240")
        run_snippet(d["code"], lang, tmp_path, api_env(apis))
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "PWNED2").exists()
    assert len(apis.requests) == 2 and all(sent_image("openai", q)[1] == image for q in apis.requests)


# ---------------------------------------------------------------- prompts and advice


def test_grounding_prompts_ask_for_the_models_own_box_format(cli, apis, tmp_path):
    qwen25 = snippet_json(cli, "qwen2.5-vl-7b", "--task", "grounding", "--cpu-only", "--ram", "64")
    assert "bbox" in qwen25["prompt"] and any("absolute pixels" in n for n in qwen25["notes"])
    qwen3 = snippet_json(cli, "qwen3-vl-8b", "--task", "grounding", "--cpu-only", "--ram", "64")
    assert any("0-1000" in n for n in qwen3["notes"])
    gem = snippet_json(cli, "gemini-2.5-flash", "--task", "grounding", "--resolution", "320x240")
    assert "box_2d" in gem["prompt"] and "ymin" in gem["prompt"]
    make_image(tmp_path / "image.jpg", 320, 240)
    run_snippet(gem["code"], "python", tmp_path, api_env(apis))
    assert "box_2d" in str(apis.requests[0]["body"])


def test_image_advice_matches_the_providers_published_examples(cli):
    # OpenAI's vision guide: a 1024x1024 image in high detail costs 765 tokens (scaled to 768x768:
    # 4 tiles x 170 + 85); detail low costs 85.
    d = snippet_json(cli, "gpt-4o", "--resolution", "1024x1024")["image_advice"]
    assert d["useful"] == "768x768" and d["at_request"]["tokens"] == 765 and d["cheaper"]["tokens"] == 85
    assert d["cheaper"]["usd"] < d["at_request"]["usd"]
    # Anthropic's vision docs: a 1092x1092 image is about 1590 tokens (w x h / 750).
    d = snippet_json(cli, "claude-sonnet-4.5", "--resolution", "1092x1092")["image_advice"]
    assert abs(d["at_request"]["tokens"] - 1590) <= 5 and d["resize_to"] is None


def test_local_advice_reports_tokens_and_memory_at_both_sizes(cli):
    d = snippet_json(cli, "qwen2.5-vl-7b", "--runner", "transformers", "--resolution", "4000x3000", "--cpu-only",
                     "--ram", "256")["image_advice"]
    assert d["at_request"]["tokens"] < d["at_useful"]["tokens"] <= 16384
    assert d["at_useful"]["memory_gib"] > d["at_request"]["memory_gib"] > 0
    assert d["resize_to"] is None  # 12 MP is within Qwen2.5-VL's own 16384 x 28 x 28 px


def test_recommend_gives_every_api_pick_its_snippet_and_it_runs(cli, catalog, apis, tmp_path):
    d = cli("recommend", "--task", "invoice", "--api", "--top", "3", "--resolution", "640x480", "--json").json()
    assert d["api"]
    for pick in d["api"]:
        step = pick["next_step"]
        assert step["command"] == f"vlmselect snippet {pick['id']} --task invoice"
        assert repr(catalog.apis[pick["id"]].api_model) in step["code"]
        # The same code `snippet` prints for the same task and workload.
        assert step["code"] == snippet_json(cli, pick["id"], "--task", "invoice", "--resolution", "640x480")["code"]
    image = make_image(tmp_path / "image.jpg", 640, 480)
    top = d["api"][0]
    run_snippet(top["next_step"]["code"], "python", tmp_path, api_env(apis))
    check_request(catalog.apis[top["id"]].provider, catalog.apis[top["id"]].api_model, apis.requests[0], image,
                  catalog.tasks["invoice"].prompt, None)
    text = cli("recommend", "--task", "invoice", "--api", "--top", "1", "--resolution", "640x480").out
    assert f"vlmselect snippet {top['id']} --task invoice" in text and top["next_step"]["code"].splitlines()[1] in text


# ---------------------------------------------------------------- video


def make_video(path: Path, frames: int = 24, size: tuple = (160, 120)) -> bytes:
    """A short MPEG-4 clip written with PyAV: each frame a different grey, so frames differ."""
    import av
    from PIL import Image

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=8)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            img = Image.new("RGB", size, (i * 10 % 256,) * 3)
            for packet in stream.encode(av.VideoFrame.from_image(img)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path.read_bytes()


def test_native_video_goes_up_through_the_files_api(cli, catalog, apis, tmp_path):
    clip = make_video(tmp_path / "video.mp4")
    d = snippet_json(cli, "gemini-2.5-flash", "--task", "video")
    assert "files.upload" in d["code"]
    run_snippet(d["code"], "python", tmp_path, api_env(apis))
    assert apis.uploaded == clip and apis.upload_mime == "video/mp4"
    gen = [q for q in apis.requests if q["path"].endswith(":generateContent")][0]
    text = str(gen["body"])
    assert "files/clip1" in text and catalog.tasks["video"].prompt in text


@pytest.mark.parametrize("target", ["ollama", "openai"])
def test_frames_are_sampled_for_models_without_native_video(cli, catalog, apis, tmp_path, target):
    make_video(tmp_path / "video.mp4", frames=40)
    if target == "ollama":
        d = snippet_json(cli, "llava-1.6-7b", "--runner", "ollama", "--task", "video", "--images", "6",
                         "--cpu-only", "--ram", "64")
    else:
        d = snippet_json(cli, "gpt-4o", "--task", "video", "--images", "6")
    assert "av.open" in d["code"] and any(n.startswith("video: 6 frames") for n in d["notes"])
    if target == "ollama":
        tag = catalog.models["llava-1.6-7b"].runners["ollama"][0]["tag"]
        with FakeOllama({tag: {}}) as srv:
            run_snippet(d["code"], "python", tmp_path, clean_env(OLLAMA_HOST=srv.host))
            chat = [q for q in srv.requests if q["path"] == "/api/chat"][0]
        assert chat["images"] == 6 and all(chat["images_b64_ok"])
        frames = [decoded_image(x) for x in chat["body"]["messages"][0]["images"]]
    else:
        run_snippet(d["code"], "python", tmp_path, api_env(apis))
        parts = [c for c in apis.requests[0]["body"]["messages"][0]["content"] if c["type"] == "image_url"]
        frames = [decoded_image(p["image_url"]["url"].split(",", 1)[1]) for p in parts]
    assert len(frames) == 6 and len(set(frames)) == 6  # six different moments of the clip
    assert all(image_size(f) == (160, 120) for f in frames)


def test_frame_count_is_what_fits_this_gpu(cli, catalog):
    """Asked for 64 frames on an 8 GB card, the snippet samples the most that the placement fits."""
    from vlmselect.hardware import build_profile
    from vlmselect.memory import Workload
    from vlmselect.placement import place
    from vlmselect.quant import QUANTS

    d = snippet_json(cli, "qwen2.5-vl-7b", "--runner", "llama.cpp", "--task", "video", "--images", "64",
                     "--gpu", "RTX 3060", "--vram", "8")
    note = next(n for n in d["notes"] if n.startswith("video: "))
    n, size = int(note.split()[1]), note.split(" at ")[1].split(",")[0]
    fw, fh = (int(x) for x in size.split("x"))
    hw = build_profile(catalog, gpu="RTX 3060", vram=8)
    m, q = catalog.models["qwen2.5-vl-7b"], QUANTS["q4_k_m"]
    wl = Workload(images=n, width=fw, height=fh, video=True)
    assert 1 <= n < 64 and place(m, q, "llama.cpp", hw, wl).fits
    more = place(m, q, "llama.cpp", hw, wl._replace(images=n + 1))
    assert more is None or not more.fits



@pytest.mark.slow
def test_vllm_snippet_against_a_real_vllm_server(cli, catalog, tiny_llava, tmp_path):
    """The printed vLLM snippet, unmodified, against vLLM's CPU build serving the tiny random LLaVA
    under the catalog model's repository id (what `vllm serve <repo>` answers to)."""
    import engines
    from tiny_vllm import vllm_llava

    from vlmselect.runners import openai_compat
    from vlmselect.runners import vllm as vllm_runner
    from vlmselect.runners.server import free_port

    binary = engines.vllm()
    m = catalog.models["qwen2.5-vl-7b"]
    model_dir = vllm_llava(tiny_llava, tmp_path / "tiny-llava-vllm")
    make_image(tmp_path / "image.jpg", 64, 64)
    d = snippet_json(cli, m.id, "--runner", "vllm", "--resolution", "64x64", "--max-new-tokens", "8",
                     "--gpu", "RTX 3090")
    port = free_port()
    with vllm_runner.start(binary, model_dir, ctx=512, port=port, kv_space_gib=1,
                           extra=("--served-model-name", m.hf_repo)) as srv:
        openai_compat.wait_ready(f"http://127.0.0.1:{port}", 900, alive=srv.alive, what="vLLM")
        run_snippet(d["code"], "python", tmp_path, clean_env(VLLM_URL=f"http://127.0.0.1:{port}/v1"))
        log = srv.log()
    assert "POST /v1/chat/completions" in log and "200" in log


@pytest.mark.slow
def test_llamacpp_snippet_against_a_real_llama_server(cli, catalog, tmp_path):
    """The printed llama.cpp snippet, unmodified, against the real llama-server serving a tiny random
    GGUF with a LLaVA-style mmproj (tests/tiny_gguf.py): it must send the image and get an answer."""
    import engines
    from tiny_gguf import write_tiny_vlm

    from vlmselect.runners import llamacpp, openai_compat
    from vlmselect.runners.server import free_port

    binary = engines.llama_server()
    model, mmproj = write_tiny_vlm(tmp_path / "gguf")
    make_image(tmp_path / "image.jpg", 64, 64)
    d = snippet_json(cli, "qwen2.5-vl-7b", "--runner", "llama.cpp", "--resolution", "64x64", "--max-new-tokens", "8",
                     "--gpu", "RTX 3090")
    port = free_port()
    with llamacpp.start(binary, model, mmproj, ctx=512, ngl=0, port=port) as srv:
        openai_compat.wait_ready(f"http://127.0.0.1:{port}", 120, alive=srv.alive, what="llama-server")
        run_snippet(d["code"], "python", tmp_path, clean_env(LLAMA_SERVER_URL=f"http://127.0.0.1:{port}/v1"))
        log = srv.log()
    assert "image decoded" in log and "new prompt" in log  # llama-server encoded the image the snippet sent
