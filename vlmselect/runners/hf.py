"""Hugging Face: download with huggingface_hub, run with transformers (+ bitsandbytes for nf4/int8).

Heavy imports live inside the functions: nothing here is loaded unless `pull --runner hf` or
`smoke --runner hf` runs.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from vlmselect.errors import RuntimeFailure, UsageError

TOKEN_HINT = "accept the licence on the model page, then set HF_TOKEN (or run `hf auth login`)"


def download(repo: str, allow_patterns: list[str], console=None) -> Path:
    """snapshot_download with only the files the runner needs; resumes interrupted downloads."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import (
            GatedRepoError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
        )
    except ImportError:
        raise UsageError("the Hugging Face runner needs extra packages", "pip install 'vlmselect[hf]'") from None
    try:
        # Token: huggingface_hub reads HF_TOKEN itself; we never touch or print it. The cache is the
        # one doctor and pull's disk check look at (HF_HUB_CACHE, else HF_HOME/hub).
        path = snapshot_download(repo_id=repo, allow_patterns=allow_patterns, cache_dir=_cache_dir())
    except GatedRepoError:
        raise RuntimeFailure(f"{repo} is gated: your account has no access yet", TOKEN_HINT) from None
    except RepositoryNotFoundError:
        raise RuntimeFailure(f"{repo} not found on the Hub (or private)", TOKEN_HINT) from None
    except LocalEntryNotFoundError:
        raise RuntimeFailure(f"{repo} is not in the local cache and the Hub cannot be reached",
                             "unset HF_HUB_OFFLINE, or check the network") from None
    except HfHubHTTPError as exc:
        raise RuntimeFailure(f"download of {repo} failed: {exc}",
                             "run the same command again: finished files are kept and partial ones resume") from None
    except KeyboardInterrupt:
        raise RuntimeFailure(f"download of {repo} interrupted",
                             "run the same command again: finished files are kept and partial ones resume") from None
    if console is not None:
        console.print(f"downloaded {repo} to {path}")
    return Path(path)


def download_files(repo: str, filenames: list[str], console=None) -> list[Path]:
    """hf_hub_download of each file (a GGUF and its mmproj): resumes partial downloads; with
    HF_HUB_OFFLINE=1, or when the Hub is unreachable, it answers from the cache."""
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            EntryNotFoundError,
            GatedRepoError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
        )
    except ImportError:
        raise UsageError("downloading needs huggingface_hub", "pip install 'vlmselect[hf]'") from None
    out = []
    for name in filenames:
        try:
            out.append(Path(hf_hub_download(repo_id=repo, filename=name, cache_dir=_cache_dir())))
        except GatedRepoError:
            raise RuntimeFailure(f"{repo} is gated: your account has no access yet", TOKEN_HINT) from None
        except RepositoryNotFoundError:
            raise RuntimeFailure(f"{repo} not found on the Hub (or private)", TOKEN_HINT) from None
        except LocalEntryNotFoundError:  # a subclass of EntryNotFoundError: first
            raise RuntimeFailure(f"{repo}/{name} is not in the local cache and the Hub cannot be reached",
                                 "unset HF_HUB_OFFLINE, or check the network") from None
        except EntryNotFoundError:
            raise RuntimeFailure(f"{repo} has no file {name}", "the catalog entry may be out of date: "
                                 "check the repository's file list") from None
        except HfHubHTTPError as exc:
            raise RuntimeFailure(f"download of {repo}/{name} failed: {exc}",
                                 "run the same command again: finished files are kept and partial ones resume") from None
        except KeyboardInterrupt:
            raise RuntimeFailure(f"download of {repo}/{name} interrupted",
                                 "run the same command again: finished files are kept and partial ones resume") from None
        if console is not None:
            console.print(f"downloaded {repo}/{name} to {out[-1]}")
    return out


def cached_file(repo: str, filename: str) -> Path | None:
    """The cached copy of one file of `repo` (no network), or None."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    p = try_to_load_from_cache(repo_id=repo, filename=filename, cache_dir=_cache_dir())
    return Path(p) if isinstance(p, str) else None


def _cache_dir() -> str:
    from vlmselect.hardware import model_dirs

    return str(model_dirs()["huggingface"])


def resolve_local(target: str) -> Path | None:
    """A local HF-format directory, or the cached snapshot of a repo id (no network)."""
    p = Path(target).expanduser()
    if p.is_dir() and (p / "config.json").exists():
        return p
    if "/" in target and not target.startswith((".", "/")):
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(repo_id=target, local_files_only=True, cache_dir=_cache_dir()))
        except Exception:  # not cached
            return None
    return None


def read_config(path: Path) -> dict:
    with open(path / "config.json", encoding="utf-8") as f:
        return json.load(f)


def safetensors_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.glob("*.safetensors"))


@dataclass
class Loaded:
    model: object
    processor: object
    device: str
    dtype: str
    load_s: float


def load(path: Path, quant: str, *, trust_remote_code: bool, model_class: str | None = None) -> Loaded:
    try:
        import torch
        import transformers
        from transformers import AutoProcessor
    except ImportError:
        raise UsageError("the Hugging Face runner needs torch and transformers", "pip install 'vlmselect[hf]'") from None
    cuda = torch.cuda.is_available()
    if cuda:
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        dtype = torch.float32  # CPU: full precision (bf16 matmuls are slow or missing on many CPUs)
    if quant == "fp16" and cuda:
        dtype = torch.float16
    # transformers renamed torch_dtype to dtype in 4.56.
    dtype_key = "dtype" if _version(transformers.__version__) >= (4, 56) else "torch_dtype"
    kwargs: dict = {dtype_key: dtype, "trust_remote_code": trust_remote_code}
    if quant in ("nf4", "int8"):
        from transformers import BitsAndBytesConfig

        if quant == "nf4":
            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype)
        else:
            kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
    kwargs["device_map"] = "auto" if cuda else "cpu"
    cls = getattr(transformers, model_class, None) if model_class else None
    if cls is None:
        from transformers import AutoModelForImageTextToText as cls  # noqa: N813
    transformers.utils.logging.disable_progress_bar()
    start = time.perf_counter()
    try:
        processor = AutoProcessor.from_pretrained(path, trust_remote_code=trust_remote_code)
        model = cls.from_pretrained(path, **kwargs)
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            raise UsageError(f"{path} needs its own Python code to load", "pass --trust-remote-code if you trust it") from None
        raise RuntimeFailure(f"cannot load {path}: {exc}", "check that transformers is recent enough (vlmselect doctor)") from None
    model.eval()
    return Loaded(model, processor, "cuda" if cuda else "cpu", str(dtype).replace("torch.", ""), time.perf_counter() - start)


def _version(v: str) -> tuple:
    return tuple(int(x) for x in v.split(".")[:2] if x.isdigit())


@dataclass
class Generation:
    answer: str
    latency_s: float
    ttft_s: float | None
    new_tokens: int
    tokens_per_s: float | None
    vram_peak_gib: float | None  # what the process held on the GPU: NVML, else torch's reserved peak
    torch_allocated_gib: float | None  # torch.cuda.max_memory_allocated: live tensors only


def generate(loaded: Loaded, image, prompt: str, max_new_tokens: int) -> Generation:
    import torch
    from transformers.generation.streamers import BaseStreamer

    proc = loaded.processor
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
    try:
        text = proc.apply_chat_template(messages, add_generation_prompt=True)
    except (ValueError, AttributeError):
        text = f"<image>\n{prompt}"  # a processor without a chat template
    inputs = proc(images=[image], text=text, return_tensors="pt").to(loaded.model.device)

    class _FirstToken(BaseStreamer):
        """Time of the first generated token: generate() first puts the prompt, then each new token."""

        def __init__(self):
            self.calls = 0
            self.first: float | None = None

        def put(self, value):
            self.calls += 1
            if self.calls == 2 and self.first is None:
                self.first = time.perf_counter()

        def end(self):
            pass

    streamer = _FirstToken()
    if loaded.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    with torch.inference_mode():
        out = loaded.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, streamer=streamer)
    latency = time.perf_counter() - start
    new = out[0, inputs["input_ids"].shape[1]:]
    answer = proc.decode(new, skip_special_tokens=True)
    ttft = streamer.first - start if streamer.first else None
    n = int(new.shape[0])
    decode_s = latency - (ttft or 0)
    tps = (n - 1) / decode_s if n > 1 and decode_s > 0 else (n / latency if latency > 0 else None)
    vram = allocated = None
    if loaded.device == "cuda":
        from vlmselect.hardware.nvml import process_used_gib

        allocated = torch.cuda.max_memory_allocated() / 2**30
        vram = process_used_gib(os.getpid()) or torch.cuda.max_memory_reserved() / 2**30
    return Generation(answer, latency, ttft, n, tps, vram, allocated)


def os_rss_gib() -> float:
    import psutil

    return psutil.Process(os.getpid()).memory_info().rss / 2**30
