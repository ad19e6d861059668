"""`vlmselect snippet`: the shortest correct code that sends one image and a task's prompt to a
model or API. Templates are data (TEMPLATES); every value goes in through repr() / json.dumps
(Python) or shlex.quote (shell), never pasted raw. Keys are read from the environment by the SDKs
(or by the shell in curl), never written into the code. Pure: no I/O, no rich.
"""


import json
import re
import shlex
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, NamedTuple

from vlmselect.catalog import ApiSpec, ModelSpec, TaskSpec
from vlmselect.errors import UsageError
from vlmselect.imageadvice import Advice, advise
from vlmselect.memory import Workload
from vlmselect.snippet_templates import BOX_FORMATS, DEFAULT_URL, KEY_ENV, TEMPLATES, URL_ENV

if TYPE_CHECKING:
    from vlmselect.hardware.types import HardwareProfile
    from vlmselect.quant import Quant
    from vlmselect.video import FramePlan

# The image types the chat APIs accept, by file suffix (IANA media types). A table, not `mimetypes`:
# that reads the system's mime.types files, ~20 ms of every `recommend --json`.
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
               ".gif": "image/gif", ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff",
               ".heic": "image/heic", ".heif": "image/heif"}
LOCAL_RUNNERS = ("ollama", "transformers", "llama.cpp", "vllm")
LANGS = ("python", "curl")


class Snippet(NamedTuple):
    model_id: str
    target: str  # runner (local) or provider (API)
    lang: str
    code: str
    prompt: str
    env: tuple[str, ...]  # environment variables the code reads
    advice: Advice
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.model_id, "target": self.target, "lang": self.lang, "code": self.code,
                "prompt": self.prompt, "env": list(self.env), "notes": list(self.notes),
                "image_advice": {"useful": "x".join(map(str, self.advice.useful)) if self.advice.useful else None,
                                 "why": self.advice.why, "at_useful": self.advice.at_useful,
                                 "at_request": self.advice.at_request,
                                 "resize_to": "x".join(map(str, self.advice.resize_to)) if self.advice.resize_to else None,
                                 "cheaper": self.advice.cheaper}}


def task_prompt(item: ModelSpec | ApiSpec, task: TaskSpec | None) -> tuple[str, str | None]:
    """(prompt, note): the task's own prompt; for grounding, in the model's own box format."""
    prompt = (task.prompt if task and task.prompt else "Describe this image in detail.")
    if task is None or task.id != "grounding":
        return prompt, None
    family = item.provider if isinstance(item, ApiSpec) else item.family
    fmt = BOX_FORMATS.get(family)
    if fmt is None:
        return ("Find every object in this image. Answer as JSON: a list of {\"label\": ..., \"box\": [x1, y1, x2, y2]}"
                " in pixels of the image."), f"no published box format for {family}: asked for pixel boxes in JSON"
    return fmt["prompt"], f"box format: {fmt['format']} ({fmt['source']})"


def _image_block(image: str, resize: tuple[int, int] | None, why: str) -> tuple[str, str, str]:
    """(imports, python lines that make `image_bytes`, its MIME type)."""
    if resize:
        lines = (f"img = Image.open({image!r}).convert(\"RGB\")\n"
                 f"img.thumbnail(({resize[0]}, {resize[1]}))  # larger gains nothing: {why}\n"
                 "buf = io.BytesIO()\nimg.save(buf, \"JPEG\", quality=90)\nimage_bytes = buf.getvalue()\n")
        return "import io\n\nfrom PIL import Image\n", lines, "image/jpeg"
    mime = IMAGE_TYPES.get(PurePosixPath(image.lower()).suffix, "image/jpeg")
    return "", f"with open({image!r}, \"rb\") as f:\n    image_bytes = f.read()\n", mime


def default_runner(m: ModelSpec) -> str:
    """Ollama where it has a tag, else transformers (unless the repo needs its own code), else a server."""
    from vlmselect.placement import runners_for

    have = runners_for(m)
    cls = (m.runners.get("transformers") or {}).get("class") or ""
    generic = cls.endswith("ForConditionalGeneration") and not m.arch.encoder_decoder and not m.trust_remote_code
    for r in ("ollama", "transformers", "llama.cpp", "vllm"):
        if r in have and (r != "transformers" or generic):
            return r
    if have:
        return have[0]
    raise UsageError(f"{m.id} has no runner artifact in the catalog", "see `vlmselect show " + m.id + "`")


def build(item: ModelSpec | ApiSpec, task: TaskSpec | None, w: Workload, runner: str | None = None, lang: str = "python",
          image: str = "image.jpg", quant: "Quant | None" = None, trust_remote_code: bool = False,
          server_command: str | None = None, low_detail: bool = False, video: str = "video.mp4",
          hw: "HardwareProfile | None" = None) -> Snippet:
    """The snippet for a local model (on `runner`, at `quant`) or an API, sending `image` (or, for a
    video task, `video`: uploaded where the API takes video, else as sampled frames)."""
    if lang not in LANGS:
        from vlmselect.errors import unknown

        raise unknown("language", lang, LANGS, "--lang: python or curl")
    prompt, note = task_prompt(item, task)
    notes = [note] if note else []
    if isinstance(item, ApiSpec):
        if runner:
            raise UsageError(f"{item.id} is a hosted API: --runner is for local models", "drop --runner")
        target = item.provider
        if target not in KEY_ENV:
            raise UsageError(f"no snippet for provider {target!r} yet", "providers: " + ", ".join(KEY_ENV))
        adv = advise(item, w)
        model_name = item.api_model or item.id
    else:
        if low_detail:
            raise UsageError("--low-detail is a hosted API's cheaper mode", "for a local model send a smaller --resolution")
        runner = runner or default_runner(item)
        if runner not in LOCAL_RUNNERS:
            from vlmselect.errors import unknown

            raise unknown("runner", runner, LOCAL_RUNNERS, "--runner: " + ", ".join(LOCAL_RUNNERS))
        target = runner
        adv = advise(item, w, runner, quant)
        model_name, extra = _local_model_name(item, runner, quant, trust_remote_code)
        notes += extra
        if server_command:
            notes.append(f"start the server first: {server_command}")
    if low_detail and not adv.cheaper:
        raise UsageError(f"{item.id} has no cheaper image mode in the catalog", "send a smaller --resolution instead")
    if lang == "curl" and target == "transformers":
        raise UsageError("transformers runs inside your Python process: there is no HTTP call to show",
                         "use --lang python, or --runner llama.cpp / vllm for a server you can curl")
    key = ("curl", "curl") if lang == "curl" else (
        ("openai-compatible", "python") if target in ("llama.cpp", "vllm") else (target, "python"))
    values = _values(target, model_name, prompt, w, image, adv, quant, trust_remote_code, low_detail, server_command)
    if task is not None and task.video:
        if lang == "curl":
            raise UsageError("a video snippet samples frames or uploads the clip: that takes Python", "use --lang python")
        native = isinstance(item, ApiSpec) and target == "google" and item.cap("video") >= 3
        if native:
            key = ("google-video", "python")
            notes.append("native video: the clip goes up through the Files API, no frame sampling")
        else:
            from vlmselect.video import plan_frames

            plan = plan_frames(item, w, None if isinstance(item, ApiSpec) else target, quant, hw)
            values.update(_frame_values(target, video, plan))
            notes.append(f"video: {plan.frames} frames at {plan.width}x{plan.height}, {plan.tokens_per_frame} tokens"
                         f" each ({plan.why})")
        values["video"] = repr(video)
    code = re.sub(r"@(\w+)@", lambda mt: str(values[mt.group(1)]), TEMPLATES[key])
    code = re.sub(r"\n{3,}", "\n\n", code).strip() + "\n"
    env = tuple(x for x in (URL_ENV.get(target), KEY_ENV.get(target)) if x)
    return Snippet(item.id, target, lang, code, prompt, env, adv, tuple(notes))


def _frame_values(target: str, video: str, plan: "FramePlan") -> dict[str, str]:
    from vlmselect.snippet_templates import FRAMES_BLOCK, FRAMES_IMPORTS

    block = re.sub(r"@(\w+)@", lambda mt: str({"n_frames": plan.frames, "frame_w": plan.width, "frame_h": plan.height,
                                                "frames_why": plan.why.split(";")[0], "video": repr(video)}[mt.group(1)]),
                   FRAMES_BLOCK)
    v = {"image_block": block, "image_imports": FRAMES_IMPORTS, "image_list": "frames", "mime": "image/jpeg"}
    if target == "transformers":
        v["image_imports"] = FRAMES_IMPORTS + "from PIL import Image\n"
        v["image_item"] = '*[{"type": "image", "image": Image.open(io.BytesIO(f))} for f in frames]'
    return v


def _local_model_name(m: ModelSpec, runner: str, quant: "Quant | None", trust_remote_code: bool) -> tuple[str, list[str]]:
    r = m.runners
    if runner == "ollama":
        tags = r.get("ollama") or []
        if not tags:
            raise UsageError(f"{m.id} has no Ollama tag in the catalog", "try --runner transformers or llama.cpp")
        chosen = next((t["tag"] for t in tags if quant is None or t.get("quant") == quant.id), tags[0]["tag"])
        return chosen, [f"pull it first: {shlex.join(['ollama', 'pull', chosen])}"]
    cls = (r.get("transformers") or {}).get("class") or ""
    if runner == "transformers" and (m.arch.encoder_decoder or not cls.endswith("ForConditionalGeneration")):
        # The snippet is transformers' chat-template path; these load through their own classes
        # and prompt formats (model.chat(), task tokens), which their model cards show.
        from vlmselect.placement import runners_for

        others = [x for x in runners_for(m) if x != "transformers"]
        raise UsageError(f"{m.id} loads as {cls or 'its own class'} with its own prompt format, not through"
                         " AutoModelForImageTextToText and a chat template",
                         (f"try --runner {' or '.join(others)}; " if others else "") + f"see https://huggingface.co/{m.hf_repo}")
    if runner in ("transformers", "vllm") and m.trust_remote_code and not trust_remote_code:
        raise UsageError(f"{m.hf_repo} runs Python code from its repository (trust_remote_code)",
                         "read that code, then pass --trust-remote-code; or pick another runner")
    if runner == "llama.cpp":
        if not (r.get("gguf") or {}).get("files"):
            raise UsageError(f"{m.id} has no GGUF in the catalog", "try --runner ollama or transformers")
        return r["gguf"]["repo"], []  # llama-server answers whatever model name is sent
    if runner == "vllm" and quant is not None and quant.fmt in ("awq", "gptq", "fp8") and (r.get(quant.fmt) or {}).get("repo"):
        return r[quant.fmt]["repo"], []  # vLLM serves under the repository id it loaded
    return m.hf_repo, []


def _values(target: str, model: str, prompt: str, w: Workload, image: str, adv: Advice,
            quant: "Quant | None", trust_remote_code: bool, low: bool, server_command: str | None) -> dict[str, Any]:
    resize = adv.resize_to
    image_imports, image_block, mime = _image_block(image, resize, adv.why)
    v = {"model": repr(model), "prompt": repr(prompt), "image_block": image_block, "mime": mime,
         "image_list": "[image_bytes]",
         "image_imports": image_imports, "max_new_tokens": w.max_new_tokens,
         "url_env": URL_ENV.get(target, ""), "default_url": DEFAULT_URL.get(target, ""),
         "detail_arg": "", "max_tokens_arg": "", "config_arg": "", "extra_imports": "", "processor_args": "",
         "server_note": f"start the server first: {server_command}" if server_command else "the server must be running"}
    if target == "openai":
        v["detail_arg"] = f', "detail": "{"low" if low else "high"}"'
    elif target in ("llama.cpp", "vllm"):
        v["max_tokens_arg"] = f"\n    max_tokens={w.max_new_tokens},"
    elif target == "google" and low:
        v["config_arg"] = "\n    config=types.GenerateContentConfig(media_resolution=types.MediaResolution.MEDIA_RESOLUTION_LOW),"
    elif target == "transformers":
        # The processor takes the PIL image itself after a resize, else the path.
        v["image_item"] = '{"type": "image", "image": img}' if resize else f'{{"type": "image", "path": {image!r}}}'
        v["image_block"] = image_block.split("buf = io.BytesIO()")[0] if resize else ""
        v["image_imports"] = "from PIL import Image\n" if resize else ""
        loads = ['dtype="auto"', 'device_map="auto"']
        if quant is not None and quant.fmt == "bnb":
            v["extra_imports"] = "from transformers import BitsAndBytesConfig\n"
            loads.append("quantization_config=" + (
                'BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype="bfloat16")'
                if quant.id == "nf4" else "BitsAndBytesConfig(load_in_8bit=True)"))
        if trust_remote_code:  # only after the user said so with --trust-remote-code
            loads.append("trust_remote_code=True")
            v["processor_args"] = ", trust_remote_code=True"
        v["load_args"] = ", ".join(loads)
    v.update(_curl_values(target, model, prompt, mime, w, image, resize, adv.why, low))
    return v


def _curl_values(target: str, model: str, prompt: str, mime: str, w: Workload, image: str,
                 resize: tuple[int, int] | None, why: str, low: bool) -> dict[str, str]:
    img = "@IMAGE@"
    key = KEY_ENV.get(target)
    path = ""
    if target == "ollama":
        body: dict[str, Any] = {"model": model, "stream": False, "messages": [{"role": "user", "content": prompt, "images": [img]}]}
        path, headers = "/api/chat", []
    elif target == "anthropic":
        body = {"model": model, "max_tokens": w.max_new_tokens, "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": mime, "data": img}},
            {"type": "text", "text": prompt}]}]}
        path, headers = "/v1/messages", [f"x-api-key: ${key}", "anthropic-version: 2023-06-01"]
    elif target == "google":
        body = {"contents": [{"parts": [{"inline_data": {"mime_type": mime, "data": img}}, {"text": prompt}]}]}
        if low:
            body["generationConfig"] = {"mediaResolution": "MEDIA_RESOLUTION_LOW"}
        path, headers = f"/v1beta/models/{model}:generateContent", [f"x-goog-api-key: ${key}"]
    else:  # chat completions: OpenAI, llama-server, vLLM
        url: dict[str, str] = {"url": f"data:{mime};base64,{img}"}
        if target == "openai":
            url["detail"] = "low" if low else "high"
        body = {"model": model, "messages": [{"role": "user", "content": [
            {"type": "text", "text": prompt}, {"type": "image_url", "image_url": url}]}]}
        if target != "openai":
            body["max_tokens"] = w.max_new_tokens
        path, headers = "/chat/completions", ([f"Authorization: Bearer ${key}"] if key else [])
    before, after = json.dumps(body).split(img)
    hdr = "".join(f'-H "{h}" ' for h in headers) + "-H 'Content-Type: application/json' "
    comment = ""
    if resize:
        comment = (f"# larger than useful ({why}): resize to {resize[0]}x{resize[1]} first, e.g.\n"
                   f"#   {shlex.join(['magick', image, '-resize', f'{resize[0]}x{resize[1]}>', image])}\n")
    return {"body_a": shlex.quote(before), "body_b": shlex.quote(after), "q_image": shlex.quote(image),
            "q_path": shlex.quote(path), "headers": hdr, "resize_comment": comment}
