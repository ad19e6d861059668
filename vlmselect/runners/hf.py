"""Hugging Face: download with huggingface_hub, run with transformers (+ bitsandbytes for nf4/int8).

Heavy imports live inside the functions: nothing here is loaded unless `pull --runner hf` or
`smoke --runner hf` runs.
"""

from __future__ import annotations

import errno
import json
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from pathlib import Path

from vlmselect.errors import RuntimeFailure, UsageError
from vlmselect.units import GIB

if TYPE_CHECKING:
    from PIL.Image import Image
    from rich.console import Console

TOKEN_HINT = "accept the licence on the model page, then set HF_TOKEN (or run `hf auth login`)"
EXTRAS_HINT = "install the Hugging Face extras: pip install 'vlmselect[hf]' (torch, transformers, accelerate, bitsandbytes)"
RESUME_HINT = "run the same command again: finished files are kept and partial ones resume"
OOM_HINT = ("pick a smaller --quant (nf4 uses about a third of bf16; see `vlmselect estimate MODEL`), lower "
            "--max-new-tokens or the image size, or free GPU memory (`nvidia-smi` lists who holds it)")
# Exception classes (by name: requests, httpx and urllib3 each have their own) that mean the
# connection broke or timed out mid-transfer.
_TRANSPORT = {"ConnectionError", "ConnectError", "ConnectTimeout", "ReadTimeout", "ReadError", "Timeout",
              "TimeoutException", "NetworkError", "RemoteProtocolError", "ProtocolError", "ChunkedEncodingError",
              "IncompleteRead", "TransportError", "WriteError", "WriteTimeout", "PoolTimeout"}


def is_transport_error(exc: BaseException) -> bool:
    return any(c.__name__ in _TRANSPORT for c in type(exc).__mro__)


def is_oom(exc: BaseException) -> bool:
    """CUDA out of memory (torch.cuda.OutOfMemoryError, or a RuntimeError from older torch / kernels)."""
    if type(exc).__name__ == "OutOfMemoryError" or isinstance(exc, MemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("out of memory" in text.lower() or "CUBLAS_STATUS_ALLOC_FAILED" in text)


def missing_packages(quant: str) -> list[str]:
    """The packages `load` will need at `quant` that are not installed (cheap: no imports)."""
    from importlib.util import find_spec

    need = ["torch", "transformers", "accelerate"]  # accelerate: any device_map
    if quant in ("nf4", "int8"):
        need.append("bitsandbytes")
    def absent(name: str) -> bool:
        try:
            return find_spec(name) is None
        except (ImportError, ValueError):  # a broken install, or an import hook that refuses it
            return True

    return [n for n in need if absent(n)]


def download(repo: str, allow_patterns: list[str], console: Console | None = None) -> Path:
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
        raise RuntimeFailure("the Hugging Face runner needs huggingface_hub, which is not installed",
                             EXTRAS_HINT) from None
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
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise RuntimeFailure(f"{repo}: access denied (HTTP {status})", TOKEN_HINT) from None
        raise RuntimeFailure(f"download of {repo} failed: {_first_line(exc)}", RESUME_HINT) from None
    except KeyboardInterrupt:
        raise RuntimeFailure(f"download of {repo} interrupted", RESUME_HINT) from None
    except OSError as exc:
        raise _os_failure(exc, repo) from None
    except Exception as exc:
        if is_transport_error(exc):
            raise RuntimeFailure(f"download of {repo} broke off: {type(exc).__name__}: {_first_line(exc)}",
                                 RESUME_HINT) from None
        raise
    if not has_weights(Path(path)):
        raise RuntimeFailure(f"{repo} has no safetensors weights", NO_WEIGHTS_HINT)
    if console is not None:
        console.print(f"downloaded {repo} to {path}")
    return Path(path)


NO_WEIGHTS_HINT = ("vlmselect loads safetensors only (a .bin file is a pickle that can run code when "
                   "loaded); look for a safetensors version of the model on the Hub, or convert it yourself")


def _os_failure(exc: OSError, what: str) -> RuntimeFailure:
    if exc.errno == errno.ENOSPC:
        return RuntimeFailure(f"disk full while downloading {what} into {_cache_dir()}",
                              "free space there or point HF_HOME (or HF_HUB_CACHE) at a larger disk; " + RESUME_HINT)
    return RuntimeFailure(f"download of {what} broke off: {_first_line(exc)}", RESUME_HINT)


def has_weights(path: Path) -> bool:
    return any(path.glob("*.safetensors")) or (path / "model.safetensors.index.json").exists()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def download_files(repo: str, filenames: list[str], console: Console | None = None) -> list[Path]:
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
        raise RuntimeFailure("downloading needs huggingface_hub, which is not installed", EXTRAS_HINT) from None
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
            raise RuntimeFailure(f"download of {repo}/{name} interrupted", RESUME_HINT) from None
        except OSError as exc:
            raise _os_failure(exc, f"{repo}/{name}") from None
        except Exception as exc:
            if is_transport_error(exc):
                raise RuntimeFailure(f"download of {repo}/{name} broke off: {type(exc).__name__}: {_first_line(exc)}",
                                     RESUME_HINT) from None
            raise
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


def read_config(path: Path) -> dict[str, Any]:
    with open(path / "config.json", encoding="utf-8") as f:
        config: dict[str, Any] = json.load(f)  # a model's config.json is a JSON object
        return config


def safetensors_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.glob("*.safetensors"))


@dataclass
class Loaded:
    model: Any  # a transformers model and processor: typed by transformers, not here
    processor: Any
    device: str
    dtype: str
    load_s: float


def load(path: Path, quant: str, *, trust_remote_code: bool, model_class: str | None = None) -> Loaded:
    missing = missing_packages(quant)
    if missing:
        raise RuntimeFailure(f"the Hugging Face runner at {quant} needs {', '.join(missing)}, not installed", EXTRAS_HINT)
    if not has_weights(path):
        bins = sorted(p.name for p in path.glob("*.bin"))
        what = f" (only {', '.join(bins[:3])}{'...' if len(bins) > 3 else ''})" if bins else ""
        raise RuntimeFailure(f"no safetensors weights in {path}{what}", NO_WEIGHTS_HINT)
    import torch
    import transformers
    from transformers import AutoProcessor

    cuda = torch.cuda.is_available()
    if cuda:
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        dtype = torch.float32  # CPU: full precision (bf16 matmuls are slow or missing on many CPUs)
    if quant == "fp16" and cuda:
        dtype = torch.float16
    # transformers renamed torch_dtype to dtype in 4.56.
    dtype_key = "dtype" if _version(transformers.__version__) >= (4, 56) else "torch_dtype"
    kwargs: dict[str, Any] = {dtype_key: dtype, "trust_remote_code": trust_remote_code}
    if quant in ("nf4", "int8"):
        from transformers import BitsAndBytesConfig

        if quant == "nf4":
            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype)
        else:
            kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
    kwargs["device_map"] = "auto" if cuda else "cpu"
    cls: Any = getattr(transformers, model_class, None) if model_class else None
    if cls is None:
        from transformers import AutoModelForImageTextToText

        cls = AutoModelForImageTextToText
    transformers.utils.logging.disable_progress_bar()
    start = time.perf_counter()
    try:
        processor = AutoProcessor.from_pretrained(path, trust_remote_code=trust_remote_code)
        model = cls.from_pretrained(path, **kwargs)
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            raise UsageError(f"{path} needs its own Python code to load", "pass --trust-remote-code if you trust it") from None
        raise RuntimeFailure(f"cannot load {path}: {_first_line(exc)}",
                             "check that transformers is recent enough (vlmselect doctor)") from None
    except ImportError as exc:  # a package the model's code or the quantizer imports
        raise RuntimeFailure(f"loading {path} needs a package that is missing: {_first_line(exc)}", EXTRAS_HINT) from None
    except (RuntimeError, MemoryError) as exc:
        if is_oom(exc):
            raise RuntimeFailure(f"out of {'GPU ' if cuda else ''}memory loading {path.name} at {quant}", OOM_HINT) from None
        raise
    except OSError as exc:  # a truncated or corrupt weights file
        raise RuntimeFailure(f"cannot read the weights in {path}: {_first_line(exc)}",
                             "the download may be incomplete: run `vlmselect pull MODEL --runner hf` again "
                             "(it resumes)") from None
    model.eval()
    return Loaded(model, processor, "cuda" if cuda else "cpu", str(dtype).replace("torch.", ""), time.perf_counter() - start)


def _version(v: str) -> tuple[int, ...]:
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


def generate(loaded: Loaded, image: Image, prompt: str, max_new_tokens: int) -> Generation:
    import torch
    from transformers.generation.streamers import BaseStreamer

    proc = loaded.processor
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
    try:
        text = proc.apply_chat_template(messages, add_generation_prompt=True)
    except (ValueError, AttributeError):
        text = f"<image>\n{prompt}"  # a processor without a chat template
    try:
        inputs = proc(images=[image], text=text, return_tensors="pt").to(loaded.model.device)
    except (ValueError, TypeError) as exc:
        raise RuntimeFailure(f"the model's processor rejected the image: {_first_line(exc)}",
                             "pass a larger RGB PNG or JPEG with --image") from None

    class _FirstToken(BaseStreamer):
        """Time of the first generated token: generate() first puts the prompt, then each new token."""

        def __init__(self) -> None:
            self.calls = 0
            self.first: float | None = None

        def put(self, value: torch.Tensor) -> None:
            self.calls += 1
            if self.calls == 2 and self.first is None:
                self.first = time.perf_counter()

        def end(self) -> None:
            pass

    streamer = _FirstToken()
    if loaded.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    try:
        with torch.inference_mode():
            out = loaded.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, streamer=streamer)
    except (RuntimeError, MemoryError) as exc:
        if is_oom(exc):
            raise RuntimeFailure(f"out of {'GPU ' if loaded.device == 'cuda' else ''}memory while generating",
                                 OOM_HINT) from None
        raise
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

        allocated = torch.cuda.max_memory_allocated() / GIB
        vram = process_used_gib(os.getpid()) or torch.cuda.max_memory_reserved() / GIB
    return Generation(answer, latency, ttft, n, tps, vram, allocated)


def memory_now() -> dict[str, float]:
    """GPU memory peaks so far in this process (for the record of a failed run); {} without CUDA."""
    import sys

    torch = sys.modules.get("torch")  # only if loading got that far
    try:
        if torch is not None and torch.cuda.is_available():
            return {"torch_allocated_gib": round(torch.cuda.max_memory_allocated() / GIB, 3),
                    "vram_peak_gib": round(torch.cuda.max_memory_reserved() / GIB, 3)}
    except Exception:  # noqa: BLE001 (a broken CUDA context after the failure: nothing more to read)
        pass
    return {}


def os_rss_gib() -> float:
    import psutil

    return psutil.Process(os.getpid()).memory_info().rss / GIB
