"""The catalog's value types (what every other module reads) and the loaded tables with their look-ups.

These are plain NamedTuples built from validated entries (see `schema.py` for the rules and
`loader.py` for reading); building them never imports pydantic, so a cached catalog stays cheap.
"""


import datetime as dt
import re
from typing import Any, Literal, NamedTuple, TypeVar

from vlmselect.errors import unknown
from vlmselect.units import GB_PER_GIB, gb_to_gib

__all__ = [
    "CAPABILITIES", "EXTRA_CAPABILITIES", "KINDS", "LOCAL_RULES", "API_RULES", "IMAGE_RULES", "GB_PER_GIB",
    "gb_to_gib", "Arch", "ModelSpec", "ApiSpec", "GpuSpec", "TaskSpec", "Catalog",
]

CAPABILITIES = ("single_image", "multi_image", "ocr", "documents", "charts", "grounding", "video")
# Optional, beyond the seed's seven: `latex` = converts pages with formulas and tables to markup.
EXTRA_CAPABILITIES = ("latex",)
KINDS = ("models", "apis", "gpus", "tasks")
# Image-token rules: which preprocessors a local model can have, which billing rules an API can have.
LOCAL_RULES = ("fixed", "qwen2-vl", "anyres", "tiles", "slices", "phi3-vision", "patches", "cross-attention")
API_RULES = ("fixed", "openai-tiles", "openai-patches", "anthropic", "gemini-tiles")
IMAGE_RULES = frozenset(LOCAL_RULES + API_RULES)


class Arch(NamedTuple):
    """What the KV cache and the speed model need from the text backbone's config."""

    layers: int
    kv_heads: int
    head_dim: int
    hidden: int | None = None
    heads: int | None = None
    vocab: int | None = None
    sliding_window: int | None = None
    sliding_layers: int = 0
    cross_attention_layers: int = 0
    encoder_decoder: bool = False
    tied_embeddings: bool | None = None  # None: the catalog does not say


class ModelSpec(NamedTuple):
    id: str
    name: str
    family: str
    released: dt.date
    license: str
    hf_repo: str
    trust_remote_code: bool
    params_total_b: float
    arch: Arch
    context_max: int
    image_tokens: dict[str, Any]
    capabilities: dict[str, int]
    sources: tuple[str, ...]
    commercial: bool | None = None
    params_text_b: float | None = None
    params_vision_b: float | None = None
    params_active_b: float | None = None
    max_resolution: tuple[int, int] | None = None
    benchmarks: dict[str, float] = {}  # key -> score
    benchmark_sources: dict[str, str] = {}  # key -> url
    runners: dict[str, Any] = {}
    seed: dict[str, Any] | None = None
    aliases: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()
    notes: str = ""
    origin: str = ""  # file the entry came from
    facts: dict[str, Any] = {}  # the validated entry as written (dates as ISO strings): `show --json` prints it whole
    params_projector_b: float | None = None  # projector / merger, part of vision
    max_images: int | None = None  # images per request the model takes; None = no stated limit
    unknown: dict[str, str] = {}  # dotted.field -> why no primary source gives it
    benchmark_meta: dict[str, dict[str, Any]] = {}  # key -> provenance (by, mode, split, version, harness, date, note)

    @property
    def kind(self) -> "Literal['local']":  # a Literal, so that `m.kind == "local"` narrows ModelSpec | ApiSpec
        return "local"

    @property
    def is_moe(self) -> bool:
        return self.params_active_b is not None and self.params_active_b < self.params_total_b

    def cap(self, name: str) -> int:
        return int(self.capabilities.get(name, 0))


class ApiSpec(NamedTuple):
    id: str
    name: str
    provider: str
    released: dt.date
    input_per_mtok: float
    output_per_mtok: float
    image_tokens: dict[str, Any]
    capabilities: dict[str, int]
    sources: tuple[str, ...]
    api_model: str = ""
    price_source: str = ""
    price_as_of: dt.date | None = None
    max_resolution: tuple[int, int] | None = None
    context_max: int | None = None
    benchmarks: dict[str, float] = {}
    benchmark_sources: dict[str, str] = {}
    deprecated: dt.date | None = None
    retired: dt.date | None = None
    successor: str | None = None
    seed: dict[str, Any] | None = None
    aliases: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()
    notes: str = ""
    origin: str = ""
    facts: dict[str, Any] = {}  # the validated entry as written (dates as ISO strings)
    max_images: int | None = None
    unknown: dict[str, str] = {}
    benchmark_meta: dict[str, dict[str, Any]] = {}

    @property
    def kind(self) -> "Literal['api']":
        return "api"

    def cap(self, name: str) -> int:
        return int(self.capabilities.get(name, 0))

    def status(self, on: dt.date) -> str:
        if self.retired and on >= self.retired:
            return "retired"
        if self.deprecated and on >= self.deprecated:
            return "deprecated"
        return "active"


class GpuSpec(NamedTuple):
    id: str
    name: str
    vendor: str
    vram_gib: float
    bandwidth_gbps: float
    source: str
    compute_capability: str | None = None
    bf16: bool | None = None
    fp16_tflops: float | None = None
    unified_memory: bool = False
    aliases: tuple[str, ...] = ()
    notes: str = ""
    tdp_w: float | None = None  # board power, for energy per image (plan)


class TaskSpec(NamedTuple):
    id: str
    name: str
    needs: dict[str, int]
    rank_capabilities: dict[str, float]
    rank_benchmarks: dict[str, float]
    aliases: tuple[str, ...] = ()
    prompt: str = ""
    images: int | None = None
    video: bool = False  # the images are frames of a video
    description: str = ""


# ---------------------------------------------------------------- the loaded tables


def _norm(name: str) -> str:
    """Loose key for names: case, spaces, dashes, dots and vendor words don't matter."""
    s = name.lower().replace("nvidia", "").replace("geforce", "")
    return re.sub(r"[^a-z0-9]", "", s)


_T = TypeVar("_T", ModelSpec, ApiSpec, GpuSpec, TaskSpec)


def _find(table: dict[str, _T], name: str) -> _T | None:
    if name in table:
        return table[name]
    key = _norm(name)
    item: _T
    for item in table.values():
        if key in {_norm(item.id), _norm(item.name), *(_norm(a) for a in item.aliases)}:
            return item
    return None


class Catalog:
    """The loaded tables, each id -> spec."""

    def __init__(self) -> None:
        self.models: dict[str, ModelSpec] = {}
        self.apis: dict[str, ApiSpec] = {}
        self.gpus: dict[str, GpuSpec] = {}
        self.tasks: dict[str, TaskSpec] = {}
        self.files: list[str] = []

    # -- look-ups: by id, display name or alias, loosely

    def model(self, name: str) -> ModelSpec | ApiSpec:
        found: ModelSpec | ApiSpec | None = _find(self.models, name) or _find(self.apis, name)
        if found is None:
            raise unknown("model", name, [*self.models, *self.apis], "list them with `vlmselect models`")
        return found

    def task(self, name: str) -> TaskSpec:
        found = _find(self.tasks, name)
        if found is None:
            raise unknown("task", name, self.tasks, "tasks: " + ", ".join(self.tasks))
        return found

    def gpu(self, name: str) -> GpuSpec:
        found = _find(self.gpus, name)
        if found is None:
            # "3090" -> "rtx 3090": a unique preset whose key contains what was typed.
            key = _norm(name)
            hits = [g for g in self.gpus.values() if key and any(key in _norm(n) for n in (g.id, g.name, *g.aliases))]
            if len(hits) == 1:
                return hits[0]
            names = [g.id for g in self.gpus.values()]
            raise unknown("GPU", name, names, "presets: " + ", ".join(names))
        return found

    def gpu_by_name(self, name: str) -> GpuSpec | None:
        """The preset for a probed device name ("NVIDIA GeForce RTX 3090"), or None."""
        return _find(self.gpus, name)
