"""The snippets as data: one template per (runner or provider, language). `@name@` marks a value
that snippet.py inserts already quoted (repr() for Python strings, shlex.quote for shell words);
one pass of substitution, so a value is never read as a template.

Shell bodies go through stdin (`-d @-`): a base64 image is larger than one command-line argument
may be on Linux (128 KiB).
"""

from __future__ import annotations

# Where each target listens, and the environment variable that moves it (the SDKs' own where they
# have one: OPENAI_BASE_URL, ANTHROPIC_BASE_URL, GOOGLE_GEMINI_BASE_URL; OLLAMA_HOST is Ollama's).
URL_ENV = {"ollama": "OLLAMA_HOST", "llama.cpp": "LLAMA_SERVER_URL", "vllm": "VLLM_URL",
           "openai": "OPENAI_BASE_URL", "anthropic": "ANTHROPIC_BASE_URL", "google": "GOOGLE_GEMINI_BASE_URL"}
DEFAULT_URL = {"ollama": "http://127.0.0.1:11434", "llama.cpp": "http://127.0.0.1:8080/v1",  # llama-server --port default
               "vllm": "http://127.0.0.1:8000/v1",  # vllm serve --port default
               "openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com",
               "google": "https://generativelanguage.googleapis.com"}
KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "google": "GEMINI_API_KEY"}

# Grounding: each family's own box format, with where it is described.
BOX_FORMATS = {
    "qwen2.5-vl": {"prompt": "Locate every object in this image and output their bbox coordinates in JSON format.",
                   "format": 'JSON [{"bbox_2d": [x1, y1, x2, y2], "label": ...}] in absolute pixels of the image as resized',
                   "source": "https://github.com/QwenLM/Qwen2.5-VL/blob/main/cookbooks/spatial_understanding.ipynb"},
    "qwen3-vl": {"prompt": "Locate every object in this image and output their bbox coordinates in JSON format.",
                 "format": 'JSON [{"bbox_2d": [x1, y1, x2, y2], "label": ...}] relative, 0-1000',
                 "source": "https://github.com/QwenLM/Qwen3-VL/blob/main/cookbooks/2d_grounding.ipynb"},
    "qwen2-vl": {"prompt": "Detect every object in this image and give its bounding box.",
                 "format": "<|box_start|>(x1,y1),(x2,y2)<|box_end|> relative, 0-1000",
                 "source": "https://github.com/QwenLM/Qwen2-VL (README, grounding)"},
    **{f: {"prompt": "Please provide the bounding box coordinate of the region this sentence describes: <ref>every object</ref>",
           "format": "<ref>label</ref><box>[[x1, y1, x2, y2]]</box> relative, 0-1000",
           "source": "https://internvl.readthedocs.io (grounding prompts)"}
       for f in ("internvl2", "internvl3", "internvl3.5")},
    **{f: {"prompt": "Find every object in this image and give each bounding box as JSON with label and bbox_2d.",
           "format": '[{"label": ..., "bbox_2d": [x1, y1, x2, y2]}] relative, 0-1000',
           "source": "https://github.com/zai-org/GLM-V (grounding)"}
       for f in ("glm-4.1v", "glm-4.5v")},
    "paligemma2": {"prompt": "detect object",
                   "format": "<locYYYY><locXXXX><locYYYY><locXXXX> label: y1 x1 y2 x2 in 1024 bins",
                   "source": "https://huggingface.co/google/paligemma2-3b-mix-448"},
    "google": {"prompt": "Detect every object in this image. Answer as JSON: a list of {\"label\": ..., \"box_2d\": "
                         "[ymin, xmin, ymax, xmax]} normalized to 0-1000.",
               "format": '[{"label": ..., "box_2d": [ymin, xmin, ymax, xmax]}] relative, 0-1000',
               "source": "https://ai.google.dev/gemini-api/docs/image-understanding"},
}

_CHAT_COMPLETIONS_PY = '''\
client.chat.completions.create(
    model=@model@,
    messages=[{"role": "user", "content": [
        {"type": "text", "text": @prompt@},
        *[{"type": "image_url", "image_url": {"url": f"data:@mime@;base64,{b64}"@detail_arg@}} for b64 in images_b64],
    ]}],@max_tokens_arg@
)'''

_CURL = '''\
{ printf '%s' @body_a@; base64 < @q_image@ | tr -d '\\n'; printf '%s' @body_b@; } |
  curl -sS "${@url_env@:-@default_url@}"@q_path@ @headers@-d @-
'''

TEMPLATES = {
    ("ollama", "python"): '''\
# pip install ollama   (the server: ollama serve; OLLAMA_HOST moves it)
@image_imports@import ollama

@image_block@
response = ollama.chat(
    model=@model@,
    messages=[{"role": "user", "content": @prompt@, "images": @image_list@}],
)
print(response.message.content)
''',
    ("transformers", "python"): '''\
# pip install "transformers>=4.56" accelerate pillow
@image_imports@from transformers import AutoModelForImageTextToText, AutoProcessor
@extra_imports@
@image_block@
model_id = @model@
processor = AutoProcessor.from_pretrained(model_id@processor_args@)
model = AutoModelForImageTextToText.from_pretrained(model_id, @load_args@)
messages = [{"role": "user", "content": [@image_item@, {"type": "text", "text": @prompt@}]}]
inputs = processor.apply_chat_template(
    messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
).to(model.device)
output = model.generate(**inputs, max_new_tokens=@max_new_tokens@)
print(processor.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))
''',
    ("openai-compatible", "python"): '''\
# pip install openai   (@server_note@)
import base64
@image_imports@import os

from openai import OpenAI

@image_block@
client = OpenAI(base_url=os.environ.get("@url_env@", "@default_url@"), api_key="none")  # a local server takes any key
images_b64 = [base64.b64encode(x).decode() for x in @image_list@]
response = ''' + _CHAT_COMPLETIONS_PY + '''
print(response.choices[0].message.content)
''',
    ("openai", "python"): '''\
# pip install openai
import base64
@image_imports@
from openai import OpenAI

@image_block@
client = OpenAI()  # reads OPENAI_API_KEY from the environment
images_b64 = [base64.b64encode(x).decode() for x in @image_list@]
response = ''' + _CHAT_COMPLETIONS_PY + '''
print(response.choices[0].message.content)
''',
    ("anthropic", "python"): '''\
# pip install anthropic
import base64
@image_imports@
import anthropic

@image_block@
client = anthropic.Anthropic()  # reads ANTHROPIC_API_KEY from the environment
message = client.messages.create(
    model=@model@,
    max_tokens=@max_new_tokens@,
    messages=[{"role": "user", "content": [
        *[{"type": "image", "source": {"type": "base64", "media_type": "@mime@",
                                       "data": base64.b64encode(x).decode()}} for x in @image_list@],
        {"type": "text", "text": @prompt@},
    ]}],
)
print(message.content[0].text)
''',
    ("google", "python"): '''\
# pip install google-genai
@image_imports@from google import genai
from google.genai import types

@image_block@
client = genai.Client()  # reads GEMINI_API_KEY from the environment
response = client.models.generate_content(
    model=@model@,
    contents=[types.Part.from_bytes(data=image_bytes, mime_type="@mime@"), @prompt@],@config_arg@
)
print(response.text)
''',
    ("google-video", "python"): '''\
# pip install google-genai
import time

from google import genai

client = genai.Client()  # reads GEMINI_API_KEY from the environment
video = client.files.upload(file=@video@)  # the Files API: a clip is too large to send inline
while video.state and video.state.name == "PROCESSING":  # Google prepares the video first
    time.sleep(2)
    video = client.files.get(name=video.name)
response = client.models.generate_content(model=@model@, contents=[video, @prompt@])
print(response.text)
''',
    ("curl", "curl"): "@resize_comment@" + _CURL,
}

# Frames of a clip for models and APIs without native video: evenly spread, each resized, as JPEG.
FRAMES_BLOCK = '''\
N_FRAMES, FRAME_SIZE = @n_frames@, (@frame_w@, @frame_h@)  # @frames_why@
frames = []
with av.open(@video@) as container:
    stream = container.streams.video[0]
    total = stream.frames or int(stream.duration * stream.time_base * stream.average_rate)
    keep = {int((i + 0.5) * total / N_FRAMES) for i in range(N_FRAMES)}
    for i, frame in enumerate(container.decode(stream)):
        if i in keep:
            img = frame.to_image()
            img.thumbnail(FRAME_SIZE)
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=90)
            frames.append(buf.getvalue())
'''
FRAMES_IMPORTS = "import io\n\nimport av  # pip install av\n"
