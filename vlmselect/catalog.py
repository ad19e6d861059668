"""Load, validate and look up the catalog: models, hosted APIs, GPUs and tasks.

The shipped YAML lives in the package (`vlmselect.catalog_data`); user catalogs overlay it
by id (`--catalog PATH` and `*.yaml` in the user's config directory). Every load is
validated, and every problem is reported at once with its file, line, id and field.
"""

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any, NamedTuple

from vlmselect.errors import UsageError, unknown

GB_PER_GIB = 2**30 / 1e9  # 1 GiB = 1.0737 GB

CAPABILITIES = ("single_image", "multi_image", "ocr", "documents", "charts", "grounding", "video")
# Optional, beyond the seed's seven: `latex` = converts pages with formulas and tables to markup.
EXTRA_CAPABILITIES = ("latex",)
KINDS = ("models", "apis", "gpus", "tasks")
IMAGE_RULES = {
    "fixed", "qwen2-vl", "anyres", "tiles", "slices", "phi3-vision", "patches", "cross-attention",
    "openai-tiles", "openai-patches", "anthropic", "gemini-tiles",
}
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def gb_to_gib(gb: float) -> float:
    return gb * 1e9 / 2**30


# ---------------------------------------------------------------- value types


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
    image_tokens: dict
    capabilities: dict
    sources: tuple
    commercial: bool | None = None
    params_text_b: float | None = None
    params_vision_b: float | None = None
    params_active_b: float | None = None
    max_resolution: tuple | None = None
    benchmarks: dict = {}  # key -> score
    benchmark_sources: dict = {}  # key -> url
    runners: dict = {}
    seed: dict | None = None
    aliases: tuple = ()
    unverified: tuple = ()
    notes: str = ""
    origin: str = ""  # file the entry came from
    max_images: int | None = None  # images per request the model takes; None = no stated limit

    kind = "local"

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
    image_tokens: dict
    capabilities: dict
    sources: tuple
    api_model: str = ""
    price_source: str = ""
    price_as_of: dt.date | None = None
    max_resolution: tuple | None = None
    context_max: int | None = None
    benchmarks: dict = {}
    benchmark_sources: dict = {}
    deprecated: dt.date | None = None
    retired: dt.date | None = None
    successor: str | None = None
    seed: dict | None = None
    aliases: tuple = ()
    unverified: tuple = ()
    notes: str = ""
    origin: str = ""

    kind = "api"

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
    aliases: tuple = ()
    notes: str = ""


class TaskSpec(NamedTuple):
    id: str
    name: str
    needs: dict
    rank_capabilities: dict
    rank_benchmarks: dict
    aliases: tuple = ()
    prompt: str = ""
    images: int | None = None
    video: bool = False  # the images are frames of a video
    description: str = ""


# ---------------------------------------------------------------- validation


class _Problems:
    """Collects every problem in a catalog file, with the line each one is on."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self.items: list[str] = []
        self._lines: dict | None = None

    def _line_index(self) -> dict:
        # Composing again costs time, so only when there is something to report.
        if self._lines is None:
            import yaml

            self._lines = {}
            try:
                root = yaml.compose(self.text, Loader=yaml.SafeLoader)
            except yaml.YAMLError:
                root = None
            if root is not None and isinstance(root, yaml.SequenceNode):
                for i, node in enumerate(root.value):
                    self._lines[(i, None)] = node.start_mark.line + 1
                    if isinstance(node, yaml.MappingNode):
                        for k, _ in node.value:
                            self._lines[(i, k.value)] = k.start_mark.line + 1
        return self._lines

    def add(self, index: int | None, entry_id: str | None, fieldname: str | None, msg: str) -> None:
        line = None
        if index is not None:
            top = fieldname.split(".")[0] if fieldname else None
            lines = self._line_index()
            line = lines.get((index, top)) or lines.get((index, None))
        where = f"{self.path}:{line}" if line else self.path
        who = f" {entry_id}" if entry_id else ""
        what = f" {fieldname}:" if fieldname else ""
        self.items.append(f"{where}:{who}{what} {msg}")


def _get(d: dict, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def _as_date(v: Any) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            return None
    return None


_NUM = (int, float)

# field -> (type check, required, description)
_MODEL_FIELDS = {
    "id": (str, True), "name": (str, True), "family": (str, True), "released": ("date", True),
    "license": (str, True), "hf_repo": (str, True), "trust_remote_code": (bool, True),
    "params.total_b": ("pos", True), "arch.layers": ("posint", True), "arch.kv_heads": ("posint", True),
    "arch.head_dim": ("posint", True), "context_max": ("posint", True), "image_tokens.rule": ("rule", True),
    "capabilities": ("caps", True), "sources": ("urls", True),
    "params.text_b": ("pos", False), "params.vision_b": ("pos", False), "params.active_b": ("pos", False),
    "commercial": (bool, False), "benchmarks": ("benchmarks", False), "runners": (dict, False),
    "seed": (dict, False), "aliases": (list, False), "max_resolution": ("res", False),
    "max_images": ("posint", False),
}
_API_FIELDS = {
    "id": (str, True), "name": (str, True), "provider": (str, True), "released": ("date", True),
    "price.input_per_mtok": ("nonneg", True), "price.output_per_mtok": ("nonneg", True),
    "price.source": ("url", True), "image_tokens.rule": ("rule", True), "capabilities": ("caps", True),
    "sources": ("urls", True), "status": (dict, False), "benchmarks": ("benchmarks", False),
    "max_resolution": ("res", False), "seed": (dict, False),
}
_GPU_FIELDS = {
    "id": (str, True), "name": (str, True), "vendor": (str, True), "vram_gb": ("pos", True),
    "bandwidth_gbps": ("pos", True), "source": ("url", True), "fp16_tflops": ("pos", False),
    "compute_capability": (str, False), "bf16": (bool, False), "aliases": (list, False),
}
_TASK_FIELDS = {
    "id": (str, True), "name": (str, True), "needs": ("caps_partial", True), "rank": (dict, True),
    "aliases": (list, False),
}
_FIELDS = {"models": _MODEL_FIELDS, "apis": _API_FIELDS, "gpus": _GPU_FIELDS, "tasks": _TASK_FIELDS}


def _check(kind: str, value: Any) -> str | None:
    """None when `value` is of `kind`, else what is wrong."""
    if kind is str:
        return None if isinstance(value, str) and value.strip() else "must be a non-empty string"
    if kind is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if kind is dict:
        return None if isinstance(value, dict) else "must be a mapping"
    if kind is list:
        return None if isinstance(value, list) else "must be a list"
    if kind == "date":
        return None if _as_date(value) else "must be a date YYYY-MM-DD"
    if kind in ("pos", "nonneg"):
        if isinstance(value, bool) or not isinstance(value, _NUM):
            return "must be a number"
        return None if value > 0 or (kind == "nonneg" and value == 0) else "must be positive"
    if kind == "posint":
        ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        return None if ok else "must be a positive integer"
    if kind == "rule":
        return None if value in IMAGE_RULES else f"unknown rule {value!r} (one of {', '.join(sorted(IMAGE_RULES))})"
    if kind == "url":
        return None if isinstance(value, str) and value.startswith(("http://", "https://")) else "must be a URL"
    if kind == "urls":
        if not isinstance(value, list) or not value:
            return "must be a non-empty list of URLs"
        bad = [u for u in value if not (isinstance(u, str) and u.startswith(("http://", "https://")))]
        return f"not a URL: {bad[0]!r}" if bad else None
    if kind in ("caps", "caps_partial"):
        if not isinstance(value, dict):
            return "must be a mapping of capability -> 0..3"
        extra = sorted(set(value) - set(CAPABILITIES) - set(EXTRA_CAPABILITIES))
        if extra:
            return f"unknown capability {extra[0]!r} (one of {', '.join(CAPABILITIES + EXTRA_CAPABILITIES)})"
        missing = [c for c in CAPABILITIES if c not in value] if kind == "caps" else []
        if missing:
            return f"missing {', '.join(missing)}"
        bad = [k for k, v in value.items() if not (isinstance(v, int) and 0 <= v <= 3)]
        return f"{bad[0]} must be 0, 1, 2 or 3" if bad else None
    if kind == "benchmarks":
        if not isinstance(value, dict):
            return "must be a mapping"
        for k, v in value.items():
            score = v.get("score") if isinstance(v, dict) else None
            src = v.get("source") if isinstance(v, dict) else None
            if not isinstance(score, _NUM) or isinstance(score, bool):
                return f"{k} needs a numeric score"
            if not (isinstance(src, str) and src.startswith("http")):
                return f"{k} needs a source URL"
        return None
    if kind == "res":
        ok = isinstance(value, list) and len(value) == 2 and all(isinstance(x, int) and x > 0 for x in value)
        return None if ok else "must be [width, height]"
    raise AssertionError(kind)


def validate_entries(kind: str, data: Any, problems: _Problems) -> list[dict]:
    """The entries of one catalog file that passed; every problem goes into `problems`."""
    if data is None:
        return []
    if not isinstance(data, list):
        problems.add(None, None, None, f"must be a list of {kind} entries")
        return []
    good, seen = [], set()
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            problems.add(i, None, None, "each entry must be a mapping")
            continue
        eid = entry.get("id") if isinstance(entry.get("id"), str) else None
        before = len(problems.items)
        for path, (ftype, required) in _FIELDS[kind].items():
            value = _get(entry, path)
            if value is None:
                if required:
                    problems.add(i, eid, path, "is required")
                continue
            err = _check(ftype, value)
            if err:
                problems.add(i, eid, path, err)
        if eid is not None:
            if not _ID_RE.match(eid):
                problems.add(i, eid, "id", "must be a lowercase slug (a-z, 0-9, '.', '-')")
            if eid in seen:
                problems.add(i, eid, "id", "duplicate id in this file")
            seen.add(eid)
        if kind == "models":
            _check_model_extras(i, eid, entry, problems)
        if len(problems.items) == before:
            good.append(entry)
    return good


def _check_model_extras(i: int, eid: str | None, entry: dict, problems: _Problems) -> None:
    for tag in _get(entry, "runners.ollama") or []:
        if not isinstance(tag, dict) or not isinstance(tag.get("tag"), str):
            problems.add(i, eid, "runners.ollama", "each tag needs `tag`")
            continue
        size = tag.get("size_gb")
        if size is not None and (not isinstance(size, _NUM) or size <= 0):
            problems.add(i, eid, "runners.ollama", f"{tag['tag']}: size_gb must be positive")
        if size is not None and not tag.get("source") and not _get(entry, "runners.ollama_source"):
            problems.add(i, eid, "runners.ollama", f"{tag['tag']}: a published size needs a source")
    params = entry.get("params") or {}
    act, tot = params.get("active_b"), params.get("total_b")
    if isinstance(act, _NUM) and isinstance(tot, _NUM) and act > tot:
        problems.add(i, eid, "params.active_b", "cannot exceed total_b")


# ---------------------------------------------------------------- building


def _benchmarks(raw: dict | None) -> tuple[dict, dict]:
    raw = raw or {}
    return ({k: float(v["score"]) for k, v in raw.items()}, {k: v["source"] for k, v in raw.items()})


def _quant_key(name: str) -> str:
    """A quant name as written in a catalog ("Q4_K_M", "f16") -> vlmselect's id ("q4_k_m", "fp16")."""
    from vlmselect.quant import quant

    key = str(name).lower()
    try:
        return quant(key).id
    except UsageError:
        return key  # a format vlmselect does not model (q5_0 ...): kept as written, never offered


def _runners(r: dict) -> dict:
    """Runner artifacts with quant names normalised once, at load."""
    r = dict(r or {})
    if r.get("ollama"):
        r["ollama"] = [dict(t, quant=_quant_key(t["quant"])) if t.get("quant") else dict(t) for t in r["ollama"]]
    g = r.get("gguf")
    if isinstance(g, dict) and g.get("files"):
        r["gguf"] = dict(g, files={_quant_key(k): v for k, v in g["files"].items()})
    return r


def _model(e: dict, origin: str) -> ModelSpec:
    a, p = e["arch"], e["params"]
    scores, srcs = _benchmarks(e.get("benchmarks"))
    return ModelSpec(
        id=e["id"], name=e["name"], family=e["family"], released=_as_date(e["released"]),
        license=str(e["license"]), hf_repo=e["hf_repo"], trust_remote_code=e["trust_remote_code"],
        params_total_b=float(p["total_b"]), params_text_b=p.get("text_b"), params_vision_b=p.get("vision_b"),
        params_active_b=p.get("active_b"),
        arch=Arch(
            layers=a["layers"], kv_heads=a["kv_heads"], head_dim=a["head_dim"], hidden=a.get("hidden"),
            heads=a.get("heads"), vocab=a.get("vocab"), sliding_window=a.get("sliding_window"),
            sliding_layers=a.get("sliding_layers") or 0, cross_attention_layers=a.get("cross_attention_layers") or 0,
            encoder_decoder=bool(a.get("encoder_decoder")),
        ),
        context_max=e["context_max"], image_tokens=dict(e["image_tokens"]), capabilities=dict(e["capabilities"]),
        sources=tuple(e["sources"]), commercial=e.get("commercial"),
        max_resolution=tuple(e["max_resolution"]) if e.get("max_resolution") else None,
        benchmarks=scores, benchmark_sources=srcs, runners=_runners(e.get("runners")), seed=e.get("seed"),
        aliases=tuple(e.get("aliases") or ()), unverified=tuple(e.get("unverified") or ()),
        notes=str(e.get("notes") or ""), origin=origin,
        max_images=int(e["max_images"]) if e.get("max_images") is not None else None,
    )


def _api(e: dict, origin: str) -> ApiSpec:
    st = e.get("status") or {}
    scores, srcs = _benchmarks(e.get("benchmarks"))
    return ApiSpec(
        id=e["id"], name=e["name"], provider=e["provider"], released=_as_date(e["released"]),
        input_per_mtok=float(e["price"]["input_per_mtok"]), output_per_mtok=float(e["price"]["output_per_mtok"]),
        price_source=e["price"]["source"], price_as_of=_as_date(e["price"].get("as_of")),
        image_tokens=dict(e["image_tokens"]), capabilities=dict(e["capabilities"]), sources=tuple(e["sources"]),
        api_model=str(e.get("api_model") or e["id"]),
        max_resolution=tuple(e["max_resolution"]) if e.get("max_resolution") else None,
        context_max=e.get("context_max"), benchmarks=scores, benchmark_sources=srcs,
        deprecated=_as_date(st.get("deprecated")), retired=_as_date(st.get("retired")),
        successor=st.get("successor"), seed=e.get("seed"), aliases=tuple(e.get("aliases") or ()),
        unverified=tuple(e.get("unverified") or ()), notes=str(e.get("notes") or ""), origin=origin,
    )


def _gpu(e: dict, origin: str) -> GpuSpec:
    cc = e.get("compute_capability")
    # GPU memory is sold in binary units: NVML reports a "24 GB" RTX 3090 as 24576 MiB = 24.0 GiB.
    return GpuSpec(
        id=e["id"], name=e["name"], vendor=e["vendor"], vram_gib=float(e["vram_gb"]),
        bandwidth_gbps=float(e["bandwidth_gbps"]), source=e["source"],
        compute_capability=str(cc) if cc is not None else None, bf16=e.get("bf16"),
        fp16_tflops=e.get("fp16_tflops"), unified_memory=bool(e.get("unified_memory")),
        aliases=tuple(str(a) for a in e.get("aliases") or ()), notes=str(e.get("notes") or ""),
    )


def _task(e: dict, origin: str) -> TaskSpec:
    rank = e["rank"]
    return TaskSpec(
        id=e["id"], name=e["name"], needs=dict(e["needs"]), rank_capabilities=dict(rank.get("capabilities") or {}),
        rank_benchmarks=dict(rank.get("benchmarks") or {}), aliases=tuple(e.get("aliases") or ()),
        prompt=str(e.get("prompt") or ""), images=e.get("images"), video=bool(e.get("video")),
        description=str(e.get("description") or ""),
    )


_BUILD = {"models": _model, "apis": _api, "gpus": _gpu, "tasks": _task}


# ---------------------------------------------------------------- the catalog


def _norm(name: str) -> str:
    """Loose key for names: case, spaces, dashes, dots and vendor words don't matter."""
    s = name.lower().replace("nvidia", "").replace("geforce", "")
    return re.sub(r"[^a-z0-9]", "", s)


class Catalog:
    """The loaded tables, each id -> spec."""

    def __init__(self):
        self.models: dict = {}
        self.apis: dict = {}
        self.gpus: dict = {}
        self.tasks: dict = {}
        self.files: list = []

    # -- look-ups: by id, display name or alias, loosely

    @staticmethod
    def _find(table: dict, name: str) -> Any:
        if name in table:
            return table[name]
        key = _norm(name)
        for item in table.values():
            if key in {_norm(item.id), _norm(item.name), *(_norm(a) for a in item.aliases)}:
                return item
        return None

    def model(self, name: str) -> ModelSpec | ApiSpec:
        found = self._find(self.models, name) or self._find(self.apis, name)
        if found is None:
            raise unknown("model", name, [*self.models, *self.apis], "list them with `vlmselect models`")
        return found

    def task(self, name: str) -> TaskSpec:
        found = self._find(self.tasks, name)
        if found is None:
            raise unknown("task", name, self.tasks, "tasks: " + ", ".join(self.tasks))
        return found

    def gpu(self, name: str) -> GpuSpec:
        found = self._find(self.gpus, name)
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
        return self._find(self.gpus, name)


def _read(path: Path) -> tuple[str, Any, _Problems]:
    import yaml  # only when a file changed: validated files come from the JSON cache

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read catalog {path}: {exc.strerror}", "check the path") from None
    problems = _Problems(str(path), text)
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problems.items.append(f"{path}{line}: YAML syntax error: {getattr(exc, 'problem', None) or exc}")
        data = None
    return text, data, problems


def _kind_of(path: Path, data: Any) -> str | None:
    """Which table a file holds: by its name (models.yaml), else by a top-level key."""
    stem = path.stem.lower()
    for kind in KINDS:
        if stem == kind or stem.endswith("-" + kind) or stem.endswith("_" + kind):
            return kind
    if isinstance(data, dict):
        return None  # mapping form: {models: [...], apis: [...]}
    return None


CACHE_SCHEMA = 1  # bump when validation or the entry format changes


def _cache_file(path: Path) -> Path | None:
    import zlib  # a file name, not security: crc32 is enough and cheaper to import than hashlib

    from vlmselect.paths import user_dir

    where = str(path.resolve())
    return user_dir("cache") / f"catalog-{path.stem}-{zlib.crc32(where.encode()):08x}.json"


def _cache_key(path: Path) -> str:
    from vlmselect import __version__

    st = path.stat()
    return f"{CACHE_SCHEMA}:{__version__}:{st.st_size}:{st.st_mtime_ns}"


def _cached(path: Path) -> dict | None:
    """The validated entries of `path` from the last load, if the file has not changed since."""
    import json

    try:
        cf = _cache_file(path)
        data = json.loads(cf.read_text(encoding="utf-8"))
        return data["tables"] if data.get("key") == _cache_key(path) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(path: Path, tables: dict) -> None:
    """Remember validated entries as JSON (never pickle): parsing YAML is most of a cold start."""
    import json

    try:
        cf = _cache_file(path)
        cf.parent.mkdir(parents=True, exist_ok=True)
        tmp = cf.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": _cache_key(path), "tables": tables}, default=str), encoding="utf-8")
        tmp.replace(cf)
    except OSError:
        pass  # a read-only home only costs speed


def load_file(path: Path, use_cache: bool = False) -> tuple[dict, list[str]]:
    """Parse one catalog file: ({kind: [entries]}, problems)."""
    if use_cache:
        cached = _cached(path)
        if cached is not None:
            return cached, []
    _, data, problems = _read(path)
    if problems.items:
        return {}, problems.items
    kind = _kind_of(path, data)
    tables: dict = {}
    if kind:
        tables[kind] = validate_entries(kind, data, problems)
    elif isinstance(data, dict):
        for key, value in data.items():
            if key not in KINDS:
                problems.add(None, None, None, f"unknown top-level key {key!r} (one of {', '.join(KINDS)})")
                continue
            tables[key] = validate_entries(key, value, problems)
    else:
        problems.add(None, None, None, "name the file models.yaml, apis.yaml, gpus.yaml or tasks.yaml, "
                     "or make it a mapping with those keys")
    if use_cache and not problems.items:
        _store(path, tables)
    return tables, problems.items


def shipped_dir() -> Path:
    from importlib.resources import files

    return Path(str(files("vlmselect.catalog_data")))


def user_catalog_paths() -> list[Path]:
    """`*.yaml` in the user's config directory (VLMSELECT_CONFIG_DIR overrides)."""
    from vlmselect.paths import user_dir

    d = user_dir("config")
    return sorted(d.glob("*.yaml")) if d.is_dir() else []


def load_catalog(extra: list[Path] | None = None, include_user: bool = True) -> Catalog:
    """The shipped catalog, overlaid by the user's files and `extra`, all validated."""
    # Every shipped file, so new entries can go in files of their own (`2026-models.yaml`).
    paths = sorted(shipped_dir().glob("*.yaml"))
    if include_user:
        paths += user_catalog_paths()
    for p in extra or []:
        p = Path(p)
        if not p.exists():
            raise UsageError(f"catalog file not found: {p}", "pass the path of a YAML catalog file")
        paths += sorted(p.glob("*.yaml")) if p.is_dir() else [p]
    cat = Catalog()
    problems: list[str] = []
    for path in paths:
        tables, probs = load_file(path, use_cache=True)
        problems += probs
        cat.files.append(str(path))
        for kind, entries in tables.items():
            table = getattr(cat, kind)
            for e in entries:
                table[e["id"]] = _BUILD[kind](e, str(path))
    if problems:
        raise CatalogError(problems)
    return cat


class CatalogError(UsageError):
    def __init__(self, problems: list[str]):
        n = len(problems)
        super().__init__(
            f"invalid catalog ({n} problem{'s' if n != 1 else ''}):\n  " + "\n  ".join(problems),
            "fix the entries above; the format is described in docs/catalog.md",
        )
        self.problems = problems


def validate_path(path: Path) -> tuple[int, list[str]]:
    """For `vlmselect catalog validate`: (entries that passed, problems)."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"catalog file not found: {path}", "pass the path of a YAML catalog file")
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    count, problems = 0, []
    for f in files:
        tables, probs = load_file(f)
        problems += probs
        count += sum(len(v) for v in tables.values())
    return count, problems
